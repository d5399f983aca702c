/**
 * Why a conversion could not produce an animation:
 * - `UndecodableMedia`: the input is not a video ffmpeg can read (no video stream, corrupt, not media at all);
 * - `EmptySelection`: the requested time range / start time selects no frame of the video;
 * - `IncompleteMedia`: the video decodes, but stops before the end its header gives (a truncated upload);
 * - `ConversionFailed`: ffmpeg failed for another reason.
 */
export type MediaErrorCode = 'UndecodableMedia' | 'EmptySelection' | 'IncompleteMedia' | 'ConversionFailed';

export class MediaError extends Error {
  constructor(
    readonly code: MediaErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MediaError';
  }
}
