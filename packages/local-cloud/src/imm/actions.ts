import { invalidArgument, resourceNotFound } from './errors';
import { detectMediaMeta } from './media-meta';
import { jsonParameter, parseMediaConvertRequest, requiredString, type RequestParameters } from './media-convert-request';
import { parseOssUri } from './oss-uri';
import type { MediaProber } from './probe-cache';
import { booleanParameter, listTasks, parseListTasksRequest, taskInfoBody } from './task-queries';
import type { TaskRunner } from './tasks';

/** One API call, signature and faults already dealt with by the server. */
export interface CallContext {
  requestId: string;
  parameters: RequestParameters;
}

export type ImmAction = (call: CallContext) => object | Promise<object>;

/** The IMM actions the local server answers, by name: what each does with the task runner and the projects. */
export function immActions(state: { projects: ReadonlySet<string>; runner: TaskRunner; prober: MediaProber }): Record<string, ImmAction> {
  const { projects, runner, prober } = state;

  function requireProject(parameters: RequestParameters): string {
    const projectName = requiredString(parameters, 'ProjectName');
    if (!projects.has(projectName)) throw resourceNotFound('Project', `ProjectName: ${projectName}`);
    return projectName;
  }

  const actions: Record<string, ImmAction> = {
    CreateMediaConvertTask({ requestId, parameters }) {
      requireProject(parameters);
      const task = runner.submit(parseMediaConvertRequest(parameters), requestId);
      return { RequestId: requestId, TaskId: task.taskId, EventId: task.eventId };
    },
    GetTask({ requestId, parameters }) {
      const projectName = requireProject(parameters);
      const taskId = requiredString(parameters, 'TaskId');
      const taskType = requiredString(parameters, 'TaskType');
      if (taskType !== 'MediaConvert') throw invalidArgument(`TaskType ${taskType} is not supported by the local IMM; use MediaConvert.`);
      const withDefinition = booleanParameter(parameters, 'RequestDefinition') ?? false;
      const task = runner.get(taskId);
      if (!task || task.projectName !== projectName) throw resourceNotFound('Task', `TaskId: ${taskId}`);
      return { RequestId: requestId, ProjectName: task.projectName, EventId: task.eventId, ...taskInfoBody(task, withDefinition) };
    },
    ListTasks({ requestId, parameters }) {
      requireProject(parameters);
      const query = parseListTasksRequest(parameters);
      const page = listTasks(runner.list(), query);
      return {
        RequestId: requestId,
        ProjectName: query.projectName,
        NextToken: page.nextToken,
        // The SDK types it as a string: "the length of the returned result list".
        MaxResults: String(page.tasks.length),
        Tasks: page.tasks.map((task) => taskInfoBody(task, query.requestDefinition)),
      };
    },
    async DetectMediaMeta({ requestId, parameters }) {
      requireProject(parameters);
      const sourceUri = requiredString(parameters, 'SourceURI');
      const source = parseOssUri(sourceUri);
      if (!source) throw invalidArgument(`SourceURI must be an OSS URI oss://bucket/key, got ${sourceUri}`);
      // A role chain for cross-account access: must be JSON, changes nothing locally.
      jsonParameter(parameters, 'CredentialConfig', false);
      return { RequestId: requestId, ...(await detectMediaMeta(prober, source)) };
    },
  };

  return actions;
}
