/** 125 -> "2m05s", 3725 -> "1h02m05s"; "?" for a non-finite value. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(s % 60)}s`;
  return m > 0 ? `${m}m${pad(s % 60)}s` : `${s}s`;
}

/** 42640128 -> "42.64M". */
export function human(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '-';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** A fraction as a percentage with one decimal, "-" when missing. */
export function pct(x: number | undefined | null): string {
  return x === undefined || x === null || !Number.isFinite(x) ? '-' : (100 * x).toFixed(1);
}
