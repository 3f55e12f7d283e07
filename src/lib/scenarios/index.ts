export type { Attribute, ChoiceType, OptionValues, Scenario, Weights } from './types';
export {
  DEFAULT_ATTRIBUTE_COUNT,
  SCENARIO_SET_FORMAT,
  SCENARIO_SET_VERSION,
  ScenarioFormatError,
  isSnakeCase,
  parseScenarioSet,
  serializeScenarioSet,
  validateScenarioSet,
  type FormatProblem,
  type FormatProblemCode,
  type ScenarioSet,
  type ValidateOptions,
} from './format';
export { builtinChoiceTypes, builtinRoles, buildScenarios, builtinScenarioSet } from './builtin';
export {
  exportPaperScenariosCsv,
  importPaperScenariosCsv,
  paperCsvAttributeCount,
  paperCsvColumns,
  type PaperCsvImportOptions,
} from './paper-csv';
