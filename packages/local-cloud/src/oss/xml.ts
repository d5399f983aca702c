// Just enough XML for OSS: building response documents and reading the few small request
// bodies OSS accepts (CompleteMultipartUpload, Tagging). No XML library is installed.

export type XmlValue = string | number | boolean | undefined | XmlFields | XmlValue[];
export interface XmlFields {
  [element: string]: XmlValue;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${ESCAPES[c]};`);
}

const ESCAPES: Record<string, string> = { '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' };

/** A document with one root element; arrays become repeated elements, undefined ones are left out. */
export function xmlDocument(root: string, fields: XmlFields): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${xmlElement(root, fields)}`;
}

function xmlElement(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((item) => xmlElement(name, item)).join('');
  if (typeof value === 'object') {
    const inner = Object.entries(value)
      .map(([child, childValue]) => xmlElement(child, childValue))
      .join('');
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export interface XmlElement {
  name: string;
  /** The element's own text (CDATA included), without its children's. */
  text: string;
  children: XmlElement[];
}

export class XmlSyntaxError extends Error {}

/** Parses a small document; rejects DTDs so no entity expansion can happen. */
export function parseXml(source: string): XmlElement {
  const parser = new XmlParser(source.replace(/^\uFEFF/, ''));
  parser.skipMisc();
  const root = parser.element();
  parser.skipMisc();
  if (!parser.atEnd()) throw new XmlSyntaxError('content after the root element');
  return root;
}

export function childElements(parent: XmlElement, name: string): XmlElement[] {
  return parent.children.filter((child) => child.name === name);
}

export function childText(parent: XmlElement, name: string): string | undefined {
  return parent.children.find((child) => child.name === name)?.text;
}

const NAME = /[A-Za-z_:][\w:.-]*/y;

class XmlParser {
  private pos = 0;
  constructor(private readonly src: string) {}

  atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  /** Whitespace, the XML declaration, processing instructions and comments. */
  skipMisc(): void {
    for (;;) {
      while (/\s/.test(this.src.charAt(this.pos))) this.pos++;
      if (this.src.startsWith('<?', this.pos)) this.skipPast('?>');
      else if (this.src.startsWith('<!--', this.pos)) this.skipPast('-->');
      else if (this.src.startsWith('<!', this.pos)) throw new XmlSyntaxError('DTDs are not allowed');
      else return;
    }
  }

  element(): XmlElement {
    this.expect('<');
    const name = this.name();
    this.attributes();
    const element: XmlElement = { name, text: '', children: [] };
    if (this.src.startsWith('/>', this.pos)) {
      this.pos += 2;
      return element;
    }
    this.expect('>');
    for (;;) {
      if (this.atEnd()) throw new XmlSyntaxError(`unclosed element <${name}>`);
      if (this.src.startsWith('</', this.pos)) {
        this.pos += 2;
        if (this.name() !== name) throw new XmlSyntaxError(`mismatched closing tag for <${name}>`);
        while (/\s/.test(this.src.charAt(this.pos))) this.pos++;
        this.expect('>');
        return element;
      }
      if (this.src.startsWith('<![CDATA[', this.pos)) {
        const start = this.pos + 9;
        this.skipPast(']]>');
        element.text += this.src.slice(start, this.pos - 3);
      } else if (this.src.startsWith('<!--', this.pos) || this.src.startsWith('<?', this.pos)) {
        this.skipMisc();
      } else if (this.src.charAt(this.pos) === '<') {
        element.children.push(this.element());
      } else {
        const end = this.src.indexOf('<', this.pos);
        const raw = this.src.slice(this.pos, end < 0 ? undefined : end);
        this.pos += raw.length;
        element.text += decodeEntities(raw);
      }
    }
  }

  private attributes(): void {
    for (;;) {
      while (/\s/.test(this.src.charAt(this.pos))) this.pos++;
      const c = this.src.charAt(this.pos);
      if (c === '>' || c === '/' || c === '') return;
      this.name();
      this.expect('=');
      const quote = this.src.charAt(this.pos);
      if (quote !== '"' && quote !== "'") throw new XmlSyntaxError('unquoted attribute');
      this.pos++;
      this.skipPast(quote);
    }
  }

  private name(): string {
    NAME.lastIndex = this.pos;
    const match = NAME.exec(this.src);
    if (!match) throw new XmlSyntaxError(`expected a name at ${this.pos}`);
    this.pos += match[0].length;
    return match[0];
  }

  private expect(text: string): void {
    if (!this.src.startsWith(text, this.pos)) throw new XmlSyntaxError(`expected "${text}" at ${this.pos}`);
    this.pos += text.length;
  }

  private skipPast(terminator: string): void {
    const end = this.src.indexOf(terminator, this.pos);
    if (end < 0) throw new XmlSyntaxError(`missing "${terminator}"`);
    this.pos = end + terminator.length;
  }
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&([^;&\s]*);?/g, (whole, entity: string) => {
    if (!whole.endsWith(';')) throw new XmlSyntaxError('bare "&" in text');
    const named = NAMED_ENTITIES[entity];
    if (named !== undefined) return named;
    const code = /^#x[0-9a-f]+$/i.test(entity)
      ? parseInt(entity.slice(2), 16)
      : /^#\d+$/.test(entity)
        ? parseInt(entity.slice(1), 10)
        : NaN;
    if (!Number.isInteger(code) || code > 0x10ffff) throw new XmlSyntaxError(`unknown entity &${entity};`);
    return String.fromCodePoint(code);
  });
}
