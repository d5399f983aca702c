/**
 * A small offline reader of ROS templates (ROSTemplateFormatVersion 2015-09-01): what the stack's outputs would be
 * for given parameters, without the cloud. It knows the intrinsic functions and the few resource attributes the
 * generated template uses (deploy/deploy-resources.ts); anything else is an error, never a guess.
 *
 * Sources: ROS user guide, "Functions" (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If), "Conditions" (Fn::Equals,
 * Fn::Not, Fn::And, Fn::Or), "Pseudo parameters" (ALIYUN::StackName, ALIYUN::Region, ALIYUN::AccountId,
 * ALIYUN::NoValue): https://www.alibabacloud.com/help/en/ros/user-guide/function-sub,
 * https://help.aliyun.com/en/ros/user-guide/conditions, https://help.aliyun.com/en/ros/user-guide/pseudo-parameters.
 */

export type TemplateValue = unknown;

export interface RosTemplate {
  ROSTemplateFormatVersion: '2015-09-01';
  Description?: string;
  Parameters?: Record<string, { Type: string; Default?: unknown; AllowedValues?: unknown[]; AllowedPattern?: string; Description?: string }>;
  Conditions?: Record<string, TemplateValue>;
  Resources: Record<string, { Type: string; Condition?: string; DependsOn?: string[] | string; Properties?: Record<string, TemplateValue> }>;
  Outputs?: Record<string, { Value: TemplateValue; Condition?: string; Description?: string }>;
}

export interface StackContext {
  stackName: string;
  region: string;
  accountId: string;
  /** Parameter values as given to the stack (strings, as the ros component sends them). */
  parameters: Record<string, string>;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

const PSEUDO = ['ALIYUN::StackName', 'ALIYUN::StackId', 'ALIYUN::Region', 'ALIYUN::AccountId', 'ALIYUN::TenantId', 'ALIYUN::NoValue'] as const;

/** The value of every output whose condition holds, as `s deploy` would hand them to `${resources.<name>.output.<Key>}`. */
export function evaluateOutputs(template: RosTemplate, context: StackContext): Record<string, string> {
  const evaluator = new Evaluator(template, context);
  const outputs: Record<string, string> = {};
  for (const [key, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Condition !== undefined && !evaluator.condition(output.Condition)) continue;
    const value = evaluator.value(output.Value);
    outputs[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return outputs;
}

/** Any part of the template (a property, a policy document) with its functions evaluated for these parameters. */
export function evaluateExpression(template: RosTemplate, context: StackContext, expression: TemplateValue): unknown {
  return new Evaluator(template, context).value(expression);
}

/** The logical ids of the resources the stack would create for these parameters (their conditions hold). */
export function createdResources(template: RosTemplate, context: StackContext): string[] {
  const evaluator = new Evaluator(template, context);
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Condition === undefined || evaluator.condition(r.Condition))
    .map(([id]) => id);
}

class Evaluator {
  private readonly parameters: Record<string, unknown>;

  constructor(
    private readonly template: RosTemplate,
    private readonly context: StackContext,
  ) {
    const parameters: Record<string, unknown> = {};
    for (const [name, declared] of Object.entries(template.Parameters ?? {})) {
      const value = context.parameters[name] ?? declared.Default;
      if (value === undefined) throw new TemplateError(`parameter ${name} has no value and no Default`);
      if (declared.AllowedValues && !declared.AllowedValues.map(String).includes(String(value))) {
        throw new TemplateError(`parameter ${name}: "${String(value)}" is not one of ${declared.AllowedValues.join(', ')}`);
      }
      if (declared.AllowedPattern && !new RegExp(declared.AllowedPattern).test(String(value))) {
        throw new TemplateError(`parameter ${name}: "${String(value)}" does not match ${declared.AllowedPattern}`);
      }
      parameters[name] = value;
    }
    for (const name of Object.keys(context.parameters)) {
      if (!(name in parameters)) throw new TemplateError(`parameter ${name} is given but the template declares no such parameter`);
    }
    this.parameters = parameters;
  }

  condition(name: string): boolean {
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new TemplateError(`no condition ${name}`);
    return this.truth(definition);
  }

  private truth(expression: TemplateValue): boolean {
    if (typeof expression === 'string') return this.condition(expression);
    const [fn, args] = single(expression);
    switch (fn) {
      case 'Fn::Equals': {
        const [a, b] = args as [TemplateValue, TemplateValue];
        return String(this.value(a)) === String(this.value(b));
      }
      case 'Fn::Not':
        return !this.truth(Array.isArray(args) ? args[0] : args);
      case 'Fn::And':
        return (args as TemplateValue[]).every((a) => this.truth(a));
      case 'Fn::Or':
        return (args as TemplateValue[]).some((a) => this.truth(a));
      case 'Condition':
        return this.condition(args as string);
      default:
        throw new TemplateError(`${fn} cannot define a condition`);
    }
  }

  value(expression: TemplateValue): unknown {
    if (expression === null || typeof expression !== 'object') return expression;
    if (Array.isArray(expression)) return expression.map((e) => this.value(e));
    const keys = Object.keys(expression);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'))) {
      const [fn, args] = single(expression);
      switch (fn) {
        case 'Ref':
          return this.ref(args as string);
        case 'Fn::GetAtt': {
          const [resource, attribute] = args as [string, string];
          return this.attribute(resource, attribute);
        }
        case 'Fn::Join': {
          const [separator, list] = args as [string, TemplateValue[]];
          return (this.value(list) as unknown[]).map(String).join(separator);
        }
        case 'Fn::If': {
          const [condition, whenTrue, whenFalse] = args as [string, TemplateValue, TemplateValue];
          return this.value(this.condition(condition) ? whenTrue : whenFalse);
        }
        case 'Fn::Sub':
          return this.sub(args);
        default:
          throw new TemplateError(`${fn} is not supported offline`);
      }
    }
    return Object.fromEntries(Object.entries(expression).map(([k, v]) => [k, this.value(v)]));
  }

  private ref(name: string): unknown {
    if (name in this.parameters) return this.parameters[name];
    switch (name) {
      case 'ALIYUN::StackName':
        return this.context.stackName;
      case 'ALIYUN::Region':
        return this.context.region;
      case 'ALIYUN::AccountId':
      case 'ALIYUN::TenantId':
        return this.context.accountId;
      case 'ALIYUN::StackId':
        return `local-stack-${this.context.stackName}`;
    }
    throw new TemplateError(`Ref ${name}: no such parameter (Ref of a resource is not supported offline)`);
  }

  private sub(args: TemplateValue): string {
    const [text, variables] = typeof args === 'string' ? [args, {}] : (args as [string, Record<string, TemplateValue>]);
    return text.replace(/\$\{(!?)([^}]*)\}/g, (_match, literal: string, name: string) => {
      if (literal) return `\${${name}}`;
      if (name in variables) return String(this.value(variables[name]));
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('ALIYUN::')) return String(this.attribute(name.slice(0, dot), name.slice(dot + 1)));
      return String(this.ref(name));
    });
  }

  /** The attributes the generated template reads, modelled on what each type's GetAtt returns (see its ROS page). */
  private attribute(logicalId: string, attribute: string): unknown {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new TemplateError(`Fn::GetAtt ${logicalId}.${attribute}: no resource ${logicalId}`);
    if (resource.Condition !== undefined && !this.condition(resource.Condition)) {
      throw new TemplateError(`Fn::GetAtt ${logicalId}.${attribute}: ${logicalId} is not created (condition ${resource.Condition} is false)`);
    }
    const property = (name: string) => this.value(resource.Properties?.[name]);
    const model: Record<string, Record<string, () => unknown>> = {
      'ALIYUN::RAM::Role': {
        RoleName: () => property('RoleName'),
        Arn: () => `acs:ram::${this.context.accountId}:role/${String(property('RoleName')).toLowerCase()}`,
      },
      'ALIYUN::MNS::Topic': { TopicName: () => property('TopicName') },
      'ALIYUN::MNS::Queue': { QueueName: () => property('QueueName') },
      'ALIYUN::MNS::Subscription': { SubscriptionName: () => property('SubscriptionName'), TopicName: () => property('TopicName') },
      'ALIYUN::IMM::Project2': { ProjectName: () => property('ProjectName') },
      'ALIYUN::SLS::Project': { Name: () => property('Name') },
      'ALIYUN::SLS::Logstore': { LogstoreName: () => property('LogstoreName'), ProjectName: () => property('ProjectName') },
      'ALIYUN::OSS::Bucket': { Name: () => property('BucketName') },
    };
    const read = model[resource.Type]?.[attribute];
    if (!read) throw new TemplateError(`Fn::GetAtt ${logicalId}.${attribute}: ${resource.Type}.${attribute} is not modelled offline`);
    return read();
  }
}

function single(expression: TemplateValue): [string, TemplateValue] {
  if (expression === null || typeof expression !== 'object' || Array.isArray(expression)) throw new TemplateError(`expected a function, got ${JSON.stringify(expression)}`);
  const entries = Object.entries(expression);
  if (entries.length !== 1) throw new TemplateError(`expected one function, got keys ${Object.keys(expression).join(', ')}`);
  return entries[0]!;
}

/** Every Ref, Fn::GetAtt, `${...}` of Fn::Sub and condition name in the template, with where it is. */
export function templateReferences(template: RosTemplate): { where: string; kind: 'Ref' | 'GetAtt' | 'Sub' | 'Condition'; name: string; attribute?: string }[] {
  const found: ReturnType<typeof templateReferences> = [];
  const walk = (node: unknown, where: string) => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
    for (const [key, value] of Object.entries(node)) {
      const here = `${where}.${key}`;
      if (key === 'Ref' && typeof value === 'string') found.push({ where: here, kind: 'Ref', name: value });
      else if (key === 'Fn::GetAtt' && Array.isArray(value)) found.push({ where: here, kind: 'GetAtt', name: String(value[0]), attribute: String(value[1]) });
      else if (key === 'Fn::If' && Array.isArray(value)) found.push({ where: here, kind: 'Condition', name: String(value[0]) });
      else if (key === 'Fn::Sub') {
        const [text, variables] = typeof value === 'string' ? [value, {}] : (value as [string, Record<string, unknown>]);
        for (const match of text.matchAll(/\$\{(?!!)([^}]*)\}/g)) {
          const name = match[1]!;
          if (name in variables) continue;
          const dot = name.indexOf('.');
          if (dot > 0 && !name.startsWith('ALIYUN::')) found.push({ where: here, kind: 'GetAtt', name: name.slice(0, dot), attribute: name.slice(dot + 1) });
          else found.push({ where: here, kind: 'Sub', name });
        }
        walk(variables, here);
        continue;
      }
      walk(value, here);
    }
  };
  walk(template.Conditions, 'Conditions');
  walk(template.Resources, 'Resources');
  walk(template.Outputs, 'Outputs');
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Condition) found.push({ where: `Resources.${id}.Condition`, kind: 'Condition', name: resource.Condition });
  }
  for (const [key, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Condition) found.push({ where: `Outputs.${key}.Condition`, kind: 'Condition', name: output.Condition });
  }
  return found;
}

/** References that point at nothing in the template: unknown parameters, resources, conditions, pseudo parameters. */
export function unresolvedReferences(template: RosTemplate): string[] {
  const parameters = new Set(Object.keys(template.Parameters ?? {}));
  const resources = new Set(Object.keys(template.Resources));
  const conditions = new Set(Object.keys(template.Conditions ?? {}));
  const pseudo = new Set<string>(PSEUDO);
  const problems: string[] = [];
  for (const ref of templateReferences(template)) {
    const ok =
      ref.kind === 'Condition'
        ? conditions.has(ref.name)
        : ref.kind === 'GetAtt'
          ? resources.has(ref.name)
          : parameters.has(ref.name) || pseudo.has(ref.name) || (ref.kind === 'Ref' && resources.has(ref.name));
    if (!ok) problems.push(`${ref.where}: ${ref.kind} ${ref.name}${ref.attribute ? `.${ref.attribute}` : ''} points at nothing in the template`);
  }
  return problems;
}
