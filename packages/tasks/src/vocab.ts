/**
 * The paper's vocabulary of 14 characters: the ten digits, '|', '+', '=' and newline. Newline marks the end of
 * an answer and pads sequences on the right.
 */
export const VOCAB = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '|', '+', '=', '\n'] as const);
export const VOCAB_SIZE = VOCAB.length; // 14
export const NEWLINE = '\n';
export const NEWLINE_ID = VOCAB.indexOf('\n');
/** Positions the model can see (learned absolute position embeddings): addition at L = 50 needs 153 (102 + 51). */
export const CONTEXT_LENGTH = 180;

const INDEX = new Map<string, number>(VOCAB.map((c, i) => [c, i]));

export function encode(text: string): number[] {
  const ids: number[] = [];
  for (const ch of text) {
    const id = INDEX.get(ch);
    if (id === undefined)
      throw new RangeError(
        `character ${JSON.stringify(ch)} is not in the vocabulary (${VOCAB.map((c) => JSON.stringify(c)).join(' ')})`,
      );
    ids.push(id);
  }
  return ids;
}

export function decode(ids: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) {
    const c = VOCAB[ids[i]!];
    if (c === undefined) throw new RangeError(`token id ${ids[i]} is outside the vocabulary [0, ${VOCAB_SIZE})`);
    s += c;
  }
  return s;
}
