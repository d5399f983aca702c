export { ffmpegPath, ffprobePath } from './ffmpeg';
export { MediaError, type MediaErrorCode } from './errors';
export { probeMedia, probeVideo, type MediaProbe, type VideoInfo } from './probe';
export {
  planAnimation,
  planGeometry,
  plannedFrameCount,
  renderAnimation,
  type AnimationFormat,
  type AnimationPlan,
  type AnimationResult,
  type AnimationSpec,
  type Geometry,
  type ScaleType,
} from './animation';
export { generateSampleVideo, readClockFrames, type SampleVideoOptions } from './sample';
export { concatVideos, type ClipPart } from './concat';
