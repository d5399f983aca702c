/**
 * Just enough XML for OSS's answers (errors, ListObjectsV2) and the tagging body: OSS's XML is flat, generated,
 * without attributes on the elements read here, CDATA or comments, so a tag lookup plus entity decoding reads it.
 */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function xmlUnescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? whole;
  });
}

export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' } as Record<string, string>)[c]};`);
}

/** The raw content of every `<tag>...</tag>` in document order (an empty element `<tag/>` gives ''), not decoded. */
export function xmlElements(xml: string, tag: string): string[] {
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}>)`, 'g');
  return [...xml.matchAll(pattern)].map((match) => match[1] ?? '');
}

/** The decoded text of the first `<tag>`, or undefined when there is none. */
export function xmlText(xml: string, tag: string): string | undefined {
  const [content] = xmlElements(xml, tag);
  return content === undefined ? undefined : xmlUnescape(content);
}
