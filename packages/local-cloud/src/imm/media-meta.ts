import { MediaError, type MediaProbe } from '../media';
import { ImmApiError, invalidMedia, resourceNotFound } from './errors';
import { ossAnswer, ossRefusal } from './oss-objects';
import { formatOssUri, type OssLocation } from './oss-uri';
import type { MediaProber } from './probe-cache';

type Fields = Record<string, unknown>;

/**
 * DetectMediaMeta for an OSS object: the fields of the SDK's DetectMediaMetaResponseBody (with VideoStream,
 * AudioStream, SubtitleStream) that ffprobe gives, without RequestId. Durations and times are seconds as numbers,
 * frame rates are fractions as text ("25/1"), as IMM returns them. `prober` reads the object (downloading it each
 * time, or from a cache per ETag in the fast conversion mode).
 */
export async function detectMediaMeta(prober: MediaProber, location: OssLocation): Promise<Fields> {
  const uri = formatOssUri(location);
  let probe: MediaProbe;
  try {
    probe = await prober.media(location);
  } catch (error) {
    if (error instanceof MediaError) throw invalidMedia(uri);
    const refusal = ossRefusal(error);
    if (refusal === 'not-found') throw resourceNotFound('Object', `SourceURI: ${uri}`);
    if (refusal === 'denied') throw new ImmApiError(403, 'PermissionDenied', `Access to ${uri} is denied (OSS answered ${ossAnswer(error)}).`);
    throw error;
  }
  return metaFields(probe);
}

function metaFields({ format, streams }: MediaProbe): Fields {
  const videos = streams.filter((s) => s.codec_type === 'video');
  const audios = streams.filter((s) => s.codec_type === 'audio');
  const subtitles = streams.filter((s) => s.codec_type === 'subtitle');
  const tags = format.tags ?? {};
  return defined({
    FormatName: format['format_name'],
    FormatLongName: format['format_long_name'],
    Duration: number(format['duration']),
    Size: number(format['size']),
    Bitrate: number(format['bit_rate']),
    StartTime: number(format['start_time']),
    StreamCount: format['nb_streams'],
    ProgramCount: format['nb_programs'],
    Title: tags['title'],
    Artist: tags['artist'],
    Album: tags['album'],
    AlbumArtist: tags['album_artist'],
    Composer: tags['composer'],
    Performer: tags['performer'],
    Language: tags['language'],
    VideoWidth: videos[0]?.['width'],
    VideoHeight: videos[0]?.['height'],
    VideoStreams: videos.length ? videos.map(videoStream) : undefined,
    AudioStreams: audios.length ? audios.map(audioStream) : undefined,
    Subtitles: subtitles.length ? subtitles.map(subtitleStream) : undefined,
  });
}

function commonStreamFields(stream: MediaProbe['streams'][number]): Fields {
  return {
    Index: stream['index'],
    Language: stream.tags?.['language'],
    CodecName: stream['codec_name'],
    CodecLongName: stream['codec_long_name'],
    CodecTag: stream['codec_tag'],
    CodecTagString: stream['codec_tag_string'],
    TimeBase: stream['time_base'],
    StartTime: number(stream['start_time']),
    Duration: number(stream['duration']),
    Bitrate: number(stream['bit_rate']),
  };
}

function videoStream(stream: MediaProbe['streams'][number]): Fields {
  // Rotation: the older `rotate` tag, or the display matrix (whose angle runs the other way).
  const matrixRotation = stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation;
  const rotate = stream.tags?.['rotate'] ?? (matrixRotation ? String((360 - matrixRotation) % 360) : undefined);
  return defined({
    ...commonStreamFields(stream),
    Profile: stream['profile'],
    Width: stream['width'],
    Height: stream['height'],
    HasBFrames: stream['has_b_frames'],
    SampleAspectRatio: stream['sample_aspect_ratio'],
    DisplayAspectRatio: stream['display_aspect_ratio'],
    PixelFormat: stream['pix_fmt'],
    Level: stream['level'],
    FrameRate: stream['r_frame_rate'],
    AverageFrameRate: stream['avg_frame_rate'],
    FrameCount: number(stream['nb_frames']),
    BitDepth: number(stream['bits_per_raw_sample']),
    ColorRange: stream['color_range'],
    ColorSpace: stream['color_space'],
    ColorTransfer: stream['color_transfer'],
    ColorPrimaries: stream['color_primaries'],
    Rotate: rotate,
  });
}

function audioStream(stream: MediaProbe['streams'][number]): Fields {
  return defined({
    ...commonStreamFields(stream),
    SampleFormat: stream['sample_fmt'],
    SampleRate: number(stream['sample_rate']),
    Channels: stream['channels'],
    ChannelLayout: stream['channel_layout'],
    FrameCount: number(stream['nb_frames']),
  });
}

function subtitleStream(stream: MediaProbe['streams'][number]): Fields {
  return defined({ ...commonStreamFields(stream), Width: stream['width'], Height: stream['height'] });
}

/** ffprobe prints most numbers as text ("15.263000"); IMM returns numbers. */
function number(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function defined(fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
