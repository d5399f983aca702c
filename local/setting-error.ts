/** A setting of the local stack (an environment variable, a --fault flag) has a value it cannot use: the user's to fix. */
export class LocalSettingError extends Error {
  override name = 'LocalSettingError';
}
