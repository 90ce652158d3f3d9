/**
 * The create form's lists for DigitalOcean's region, size and image flags, from the API's own
 * objects (GET /v2/regions, /v2/sizes, /v2/images?type=distribution). Pure functions.
 */
import type { FlagChoice } from '../types.js';
import type { DoImage, DoRegion, DoSize } from './api.js';

/** Regions open to new droplets first, then by name. */
export function regionChoices(regions: readonly DoRegion[]): FlagChoice[] {
  return regions
    .map((r) => ({
      value: r.slug,
      label: r.name || r.slug,
      detail: r.available === false ? `${r.slug} · not accepting new droplets` : r.slug,
      available: r.available !== false,
    }))
    .sort((a, b) => Number(b.available) - Number(a.available) || a.label.localeCompare(b.label));
}

/** "512 MB", "1 GB", "1.5 GB". */
export function memoryText(mb: number): string {
  if (mb < 1024) return `${mb} MB`;
  const gb = mb / 1024;
  return `${Number.isInteger(gb) ? gb : gb.toFixed(1)} GB`;
}

/** "$0.009/h", "$0.071/h", "$1.19/h". */
export function hourlyText(usd: number): string {
  return `$${usd < 1 ? usd.toFixed(3) : usd.toFixed(2)}/h`;
}

/** "$6/mo", "$6.50/mo". */
export function monthlyText(usd: number): string {
  return `$${Number.isInteger(usd) ? usd : usd.toFixed(2)}/mo`;
}

/** Sizes by price (cheapest first); sizes no region offers are listed as unavailable. */
export function sizeChoices(sizes: readonly DoSize[]): FlagChoice[] {
  return [...sizes]
    .sort((a, b) => a.price_monthly - b.price_monthly || a.slug.localeCompare(b.slug))
    .map((s) => ({
      value: s.slug,
      label: [
        s.description,
        `${s.vcpus} vCPU${s.vcpus === 1 ? '' : 's'}`,
        `${memoryText(s.memory)} RAM`,
        `${s.disk} GB disk`,
      ]
        .filter(Boolean)
        .join(' · '),
      detail: [hourlyText(s.price_hourly), monthlyText(s.price_monthly), s.slug].join(' · '),
      available: s.available !== false && (s.regions?.length ?? 1) > 0,
      ...(s.regions?.length ? { onlyWith: { flag: 'digitalocean-region', values: [...s.regions] } } : {}),
    }));
}

/** Distribution images by distribution and name; an image without a slug is named by its ID. */
export function imageChoices(images: readonly DoImage[]): FlagChoice[] {
  return images
    .filter((i) => i.status === undefined || i.status === 'available')
    .map((i) => {
      const value = i.slug || String(i.id);
      const distribution = i.distribution && i.distribution !== 'Unknown OS' ? `${i.distribution} ` : '';
      return {
        value,
        label: `${distribution}${i.name}`,
        detail: value,
        available: (i.regions?.length ?? 1) > 0,
      };
    })
    .sort((a, b) => a.label.localeCompare(b.label, undefined, { numeric: true }));
}
