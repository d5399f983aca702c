/**
 * How the command line finds the local stack (npm start): the endpoints file it leaves in its data folder, read
 * through the local cloud package's light public entry (its main one loads the emulators and ffmpeg). The one place
 * the command line imports the local cloud.
 */
export { processAlive, readEndpointsFile, type LocalEndpoints } from '@video-animation/local-cloud/endpoints';
