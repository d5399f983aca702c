/**
 * How the command line finds the local stack (npm start): the endpoints file it leaves in its data folder. The one
 * place that imports the local cloud, so that moving it to its own package changes this import alone.
 */
export { processAlive, readEndpointsFile, type LocalEndpoints } from '../local/endpoints-file';
