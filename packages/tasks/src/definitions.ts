import type { Task } from './task.js';
import { randomDigits } from './task.js';

/** copy: `x|y`, y = x. Example `0317|0317`. */
export const copy: Task = {
  name: 'copy',
  description: 'x|x: repeat L digits',
  sample(rng, L) {
    const x = randomDigits(rng, L);
    return { prompt: `${x}|`, answer: x };
  },
  promptLength: (L) => L + 1,
  answerLength: (L) => L,
};

/** reverse: `x|y`, y = reverse(x). Example `0317|7130`. */
export const reverse: Task = {
  name: 'reverse',
  description: 'x|reverse(x): L digits backwards',
  sample(rng, L) {
    const x = randomDigits(rng, L);
    return { prompt: `${x}|`, answer: [...x].reverse().join('') };
  },
  promptLength: (L) => L + 1,
  answerLength: (L) => L,
};

/** Adds two digit strings exactly (any length), result without padding. */
export function addDigitStrings(a: string, b: string): string {
  let carry = 0;
  let out = '';
  for (let i = a.length - 1, j = b.length - 1; i >= 0 || j >= 0 || carry; i--, j--) {
    const s = (i >= 0 ? a.charCodeAt(i) - 48 : 0) + (j >= 0 ? b.charCodeAt(j) - 48 : 0) + carry;
    out = String(s % 10) + out;
    carry = s >= 10 ? 1 : 0;
  }
  return out || '0';
}

/** addition: `a+b=c`, a and b of L digits, c = a + b most significant first, zero-padded to L + 1. `123+456=0579`. */
export const addition: Task = {
  name: 'addition',
  description: 'a+b=c: L-digit sum, answer zero-padded to L+1 digits',
  sample(rng, L) {
    const a = randomDigits(rng, L);
    const b = randomDigits(rng, L);
    return { prompt: `${a}+${b}=`, answer: addDigitStrings(a, b).padStart(L + 1, '0') };
  },
  promptLength: (L) => 2 * L + 2,
  answerLength: (L) => L + 1,
};
