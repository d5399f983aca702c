/**
 * A storyboard: IMM `Sprites` sheets of `frames` tiles, and the WebVTT file the app writes beside them (IMM writes
 * none). IMM lays tiles out row by row, `TileWidth` columns and `TileHeight` rows per sheet, `Margin` pixels between
 * the tiles and the sheet's edges and `Pad` pixels between neighbouring tiles; `Mode: average` takes exactly `Number`
 * frames at even intervals, so tile k shows the k-th of `frames` equal slices of the video.
 */

export interface StoryboardLayout {
  frames: number;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
  margin: number;
  pad: number;
  /** Sheet names as the VTT refers to them, relative to the VTT's own key (first sheet first). */
  sheets: string[];
}

export interface StoryboardShape {
  frames: number;
  columns: number;
  rows: number;
  /** Tile width in pixels. */
  width: number;
  /** Tile height in pixels; unset: from the source's aspect ratio. */
  height?: number;
  margin: number;
  pad: number;
}

/** Sheets needed for `frames` tiles of `columns` x `rows`. */
export function storyboardSheetCount(shape: Pick<StoryboardShape, 'frames' | 'columns' | 'rows'>): number {
  return Math.ceil(shape.frames / (shape.columns * shape.rows));
}

/**
 * The tile height: as configured, or the tile width scaled by the source's aspect ratio, rounded to an even number
 * of pixels (video scalers want even sizes). Throws when neither is known.
 */
export function storyboardTileHeight(shape: Pick<StoryboardShape, 'width' | 'height'>, source: { width?: number; height?: number }): number {
  if (shape.height !== undefined) return shape.height;
  if (!source.width || !source.height) throw new Error('storyboard height: the source size is unknown; set the tile height');
  return Math.max(2, Math.round((shape.width * source.height) / source.width / 2) * 2);
}

export function storyboardLayout(shape: StoryboardShape, source: { width?: number; height?: number }, sheets: string[]): StoryboardLayout {
  const count = storyboardSheetCount(shape);
  if (sheets.length !== count) throw new Error(`storyboard: ${count} sheet names needed, got ${sheets.length}`);
  return {
    frames: shape.frames,
    columns: shape.columns,
    rows: shape.rows,
    tileWidth: shape.width,
    tileHeight: storyboardTileHeight(shape, source),
    margin: shape.margin,
    pad: shape.pad,
    sheets,
  };
}

/** A full sheet's size in pixels. */
export function sheetSize(layout: StoryboardLayout): { width: number; height: number } {
  return {
    width: 2 * layout.margin + layout.columns * layout.tileWidth + (layout.columns - 1) * layout.pad,
    height: 2 * layout.margin + layout.rows * layout.tileHeight + (layout.rows - 1) * layout.pad,
  };
}

export interface StoryboardTile {
  /** Index into layout.sheets. */
  sheet: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where the k-th tile (0-based, in time order) sits. */
export function tileAt(layout: StoryboardLayout, k: number): StoryboardTile {
  const perSheet = layout.columns * layout.rows;
  const within = k % perSheet;
  const col = within % layout.columns;
  const row = Math.floor(within / layout.columns);
  return {
    sheet: Math.floor(k / perSheet),
    x: layout.margin + col * (layout.tileWidth + layout.pad),
    y: layout.margin + row * (layout.tileHeight + layout.pad),
    w: layout.tileWidth,
    h: layout.tileHeight,
  };
}

/**
 * The WebVTT file of a storyboard: one cue per tile, covering [k, k+1) / frames of the video, the last one ending at
 * `duration` exactly, each pointing at `sheet#xywh=x,y,w,h` (relative URLs, so the pair can move to any host or CDN).
 */
export function storyboardVtt(layout: StoryboardLayout, duration: number): string {
  if (!(duration > 0)) throw new Error(`storyboardVtt: duration must be positive, got ${duration}`);
  const totalMs = Math.round(duration * 1000);
  const lines = ['WEBVTT', ''];
  for (let k = 0; k < layout.frames; k++) {
    const start = Math.round((k * totalMs) / layout.frames);
    const end = Math.round(((k + 1) * totalMs) / layout.frames);
    const tile = tileAt(layout, k);
    lines.push(`${vttTime(start)} --> ${vttTime(end)}`, `${encodeURI(layout.sheets[tile.sheet]!)}#xywh=${tile.x},${tile.y},${tile.w},${tile.h}`, '');
  }
  return lines.join('\n');
}

export const VTT_CONTENT_TYPE = 'text/vtt';

/** hh:mm:ss.mmm */
export function vttTime(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${pad2(h)}:${pad2(m)}:${pad2(s)}.${String(ms % 1000).padStart(3, '0')}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
