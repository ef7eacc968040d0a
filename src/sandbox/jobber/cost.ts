import {
  Kind,
  getArgumentValues,
  getNamedType,
  isInterfaceType,
  isObjectType,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** Fields that cost nothing: the connection plumbing (providers.md 3.4). */
const FREE_FIELDS = new Set(['edges', 'nodes', 'node', '__typename']);
/** Nodes assumed for a connection without first/last. */
const DEFAULT_PAGE = 100;

interface CostContext {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

const isConnection = (type: GraphQLCompositeType): boolean => type.name.endsWith('Connection');

/**
 * Jobber's query cost: every field costs 1 except edges, nodes and node; a connection multiplies the
 * cost of what is selected inside it by first/last (100 when neither is given). With `data`, the
 * actual cost: connections count the nodes really returned.
 */
export function queryCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  data?: Record<string, unknown> | null,
): number {
  const root = operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  if (!root) return 0;
  return selectionCost({ schema, fragments, variables }, root, operation.selectionSet, data);
}

function selectionCost(
  ctx: CostContext,
  parent: GraphQLCompositeType,
  selectionSet: SelectionSetNode,
  data: Record<string, unknown> | null | undefined,
): number {
  let cost = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition
        ? (ctx.schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType)
        : parent;
      cost += selectionCost(ctx, type, selection.selectionSet, data);
      continue;
    }
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = ctx.fragments[selection.name.value];
      if (!fragment) continue;
      const type = ctx.schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType;
      cost += selectionCost(ctx, type, fragment.selectionSet, data);
      continue;
    }
    const name = selection.name.value;
    cost += FREE_FIELDS.has(name) ? 0 : 1;
    if (!selection.selectionSet || !(isObjectType(parent) || isInterfaceType(parent))) continue;
    const field = parent.getFields()[name];
    if (!field) continue;
    const type = getNamedType(field.type) as GraphQLCompositeType;
    if (data === undefined) {
      const inner = selectionCost(ctx, type, selection.selectionSet, undefined);
      if (!isConnection(type)) cost += inner;
      else {
        const args = getArgumentValues(field, selection, ctx.variables) as { first?: number; last?: number };
        cost += (args.first ?? args.last ?? DEFAULT_PAGE) * inner;
      }
      continue;
    }
    const value = data?.[selection.alias?.value ?? name];
    if (value === null || value === undefined) continue;
    if (!Array.isArray(value))
      cost += selectionCost(ctx, type, selection.selectionSet, value as Record<string, unknown>);
    else if (name === 'nodes' || name === 'edges') {
      // What a connection really returned counts once per node.
      for (const item of value)
        cost += selectionCost(ctx, type, selection.selectionSet, item as Record<string, unknown>);
    } else cost += selectionCost(ctx, type, selection.selectionSet, (value[0] as Record<string, unknown>) ?? null);
  }
  return cost;
}
