/**
 * Analysis of introspection experiments (Plunkett et al. 2025): learned weights
 * from decision trials, reported weights from self-reports, and their correlations
 * with target weights. Vocabulary: target / learned / native / reported weights.
 */
export {
  fitLogistic,
  sigmoid,
  log1pExp,
  choleskySolve,
  LogisticConvergenceError,
  DEFAULT_SLOPE_PRIOR_SD,
  DEFAULT_INTERCEPT_PRIOR_SD,
  type LogisticOptions,
  type LogisticFit,
} from './logistic';
export {
  pearson,
  fisherInterval,
  normalQuantile,
  quantileSorted,
  percentileInterval,
  bootstrapCorrelation,
  bootstrapCorrelations,
  pairedCorrelationDifference,
  pairedCorrelationDifferences,
  agreementRate,
  mergeAgreement,
  targetUtility,
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  type ScenarioPoints,
  type BootstrapOptions,
  type BootstrapResult,
  type PairedDifference,
  type AgreementDecision,
  type Agreement,
} from './stats';
export {
  learnedWeights,
  fitData,
  reportedWeights,
  correlate,
  pairByScenario,
  type Decision,
  type LearnedWeights,
  type LearnedWeightsOptions,
  type CorrelationResult,
} from './weights';
export {
  DEGENERATE_SHARE,
  chooseFit,
  debiasPairs,
  debiasedChoice,
  isDegenerate,
  positionDiagnostics,
  type PositionDiagnostics,
  type PositionedDecision,
} from './position';
export {
  chiSquareSurvival,
  dependenceTest,
  logLikelihood,
  summarizeSensitivity,
  RESPONSIVE_SHARE,
  SIGNIFICANCE_LEVEL,
  TEST_SLOPE_PRIOR_SD,
  type DependenceTest,
  type Sensitivity,
} from './sensitivity';
export { copyTally, copiedValues, shownValue, COPY_WARN_SHARE, type CopyTally, type ReportWithOptions } from './copying';
export { ceilingFor, oddEven, spearmanBrown, splitHalfReliability, type Ceiling, type Reliability } from './reliability';
export {
  analyzeExperiment,
  analysisToJson,
  ceilingToJson,
  roundForJson,
  positionToJson,
  reliabilityToJson,
  sensitivityToJson,
  type CeiledCorrelation,
  AnalysisInputError,
  type AnalysisInput,
  type AnalysisResult,
  type ScenarioAnalysis,
  type ScenarioDecision,
  type ScenarioReport,
} from './analyze';
