/** `€64.00`, `US$1,450.00`; a code Intl does not know is written as `64.00 XYZ`. */
export function formatMoney(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency}`;
  }
}

/** Digits after the decimal point of a currency's minor unit (EUR 2, JPY 0, KWD 3), as ISO 4217 defines them. */
function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * Major units to the integer minor units payment APIs take (49.90 EUR → 4990). Throws when the amount has more
 * precision than the currency (0.5 JPY): rounding money silently is how refunds end up a cent off.
 */
export function toMinorUnits(amount: number, currency: string): number {
  const scaled = amount * 10 ** minorDigits(currency);
  const minor = Math.round(scaled);
  if (Math.abs(minor - scaled) > 1e-6) throw new RangeError(`${amount} ${currency} has more decimals than ${currency}`);
  return minor;
}

export function fromMinorUnits(minor: number, currency: string): number {
  return minor / 10 ** minorDigits(currency);
}
