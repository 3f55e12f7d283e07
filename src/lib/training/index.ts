export * from './set';
export { buildInstillSet, buildIntrospectSet, type BuiltSet, type InstillOptions, type IntrospectOptions, type SetContext } from './build';
export { evaluationChoices, parsePrompt, readTrainingSet, type ParsedPrompt, type ReadSet } from './validate';
