import * as z from '../platform/zod';

/** What IMM charges per MediaAnimation output frame, as configured (s.yaml vars.pricing). */
export interface Pricing {
  currency: string;
  pricePerFrame: number;
}

export const CostSchema = z.object({ amount: z.number(), currency: z.string() });
export type Cost = z.infer<typeof CostSchema>;

/** frames × price, rounded to a millionth of the currency unit (prices per frame are small fractions). */
export function estimateCost(frames: number, pricing: Pricing | undefined): Cost | undefined {
  if (!pricing) return undefined;
  return { amount: Math.round(frames * pricing.pricePerFrame * 1e6) / 1e6, currency: pricing.currency };
}
