/**
 * Accuracy over answer characters (the end-of-answer newline is not scored). Every field is a fraction in
 * [0, 1], or NaN when no answer character falls in it (e.g. quartile 2 of one-character answers).
 */
export interface AnswerMetrics {
  /** Correct answer characters / all answer characters: the paper's headline number. */
  charAcc: number;
  /** Fraction of predictions equal to their whole answer. */
  exactMatch: number;
  /** Accuracy at answer position 0 (for addition: the most significant digit). */
  firstCharAcc: number;
  /** Accuracy at the last answer position (for addition: the least significant digit). */
  lastCharAcc: number;
  /** Accuracy over the four quartiles of answer positions, Q1 (first characters) .. Q4 (last characters). */
  quartiles: [number, number, number, number];
  /** Number of problems scored. */
  n: number;
}

/**
 * Scores predictions against answers, problem by problem. Position i of an answer is correct when
 * `prediction[i] === answer[i]`: a too-short prediction is wrong at the positions it lacks, characters past the
 * answer's end are ignored (exact match still requires equality).
 *
 * Quartiles: position i of an answer of length n belongs to quartile floor(4 * i / n) (so for n = 10 the
 * quartiles hold positions 0-2, 3-4, 5-7, 8-9; for n = 11: 0-2, 3-5, 6-8, 9-10). A quartile's accuracy pools
 * its positions over all problems: correct / count, not a mean of per-problem accuracies.
 */
export function scoreAnswers(predictions: readonly string[], answers: readonly string[]): AnswerMetrics {
  if (predictions.length !== answers.length) {
    throw new RangeError(`scoreAnswers: ${predictions.length} predictions for ${answers.length} answers`);
  }
  const all = new Tally();
  const first = new Tally();
  const last = new Tally();
  const quarter = [new Tally(), new Tally(), new Tally(), new Tally()] as const;
  let exact = 0;
  answers.forEach((answer, k) => {
    const prediction = predictions[k]!;
    if (prediction === answer) exact += 1;
    const n = answer.length;
    for (let i = 0; i < n; i++) {
      const ok = prediction[i] === answer[i];
      all.add(ok);
      quarter[Math.floor((4 * i) / n)]!.add(ok);
      if (i === 0) first.add(ok);
      if (i === n - 1) last.add(ok);
    }
  });
  return {
    charAcc: all.rate(),
    exactMatch: answers.length ? exact / answers.length : Number.NaN,
    firstCharAcc: first.rate(),
    lastCharAcc: last.rate(),
    quartiles: [quarter[0].rate(), quarter[1].rate(), quarter[2].rate(), quarter[3].rate()],
    n: answers.length,
  };
}

/** Correct / total counter; the rate of an empty tally is NaN (nothing was measured). */
class Tally {
  private correct = 0;
  private total = 0;

  add(ok: boolean): void {
    this.total += 1;
    if (ok) this.correct += 1;
  }

  rate(): number {
    return this.total ? this.correct / this.total : Number.NaN;
  }
}
