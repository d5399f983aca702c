/** An error IMM answers with: HTTP status plus the `Code` and `Message` of its JSON error body. */
export class ImmApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImmApiError';
  }
}

// Codes and statuses follow IMM's error-handling page and the OpenAPI gateway (POP) in front of it.
export const missingParameter = (name: string) => new ImmApiError(400, `Missing${name}`, `${name} is mandatory for this action.`);
export const invalidArgument = (message: string) => new ImmApiError(400, 'InvalidArgument', message);
export const invalidJson = (name: string) => new ImmApiError(400, 'InvalidJSON', `JSON parsing error, ${name}`);
export const resourceNotFound = (resourceType: string, detail?: string) =>
  new ImmApiError(400, 'ResourceNotFound', `The specified resource ${resourceType} is not found.${detail ? ` ${detail}` : ''}`);

export const INTERNAL_ERROR_MESSAGE = 'The request processing has failed due to some unknown error, exception or failure.';
/** IMM's wording for a file that is not media is not documented; this says what happened in its style. */
export const INVALID_MEDIA_MESSAGE = 'The media file cannot be decoded: it is not a media file or its format is not supported.';
export const invalidMedia = (uri: string) => new ImmApiError(400, 'InvalidFile.Media', `${INVALID_MEDIA_MESSAGE} SourceURI: ${uri}`);
