/** Short explanations of the terms the Results view uses, for students. */
export const GLOSSARY = {
  target: {
    title: 'target weights',
    text: 'Weights drawn at random for each scenario. In the paper, fine-tuning taught the model to choose by them. An untouched model has never seen them, so the lab compares learned weights with them only for a model trained on them (one with an adapter, a run that gives its targets, or a simulated model deciding by them).',
  },
  learned: {
    title: 'learned weights',
    text: "How much each attribute actually drives the model's choices: a logistic regression fitted to its A/B decisions, scaled so the largest is ±100.",
  },
  native: {
    title: 'native weights',
    text: "Learned weights of a model that was not fine-tuned: the preferences it already had. This lab's runs on untouched models measure native weights.",
  },
  reported: {
    title: 'reported weights',
    text: 'What the model says its weights are when asked (−100 to 100 per attribute), averaged over its self-reports and scaled so the largest is ±100.',
  },
  r: {
    title: 'r',
    text: 'Pearson correlation over all (scenario, attribute) points: 1 means the reports line up perfectly with the weights, 0 means no relation, negative means opposite.',
  },
  ci: {
    title: '95 % interval',
    text: 'The range r would likely fall in if the experiment were repeated with other scenarios: computed by resampling whole scenarios 2000 times (bootstrap). Wide intervals mean: too few scenarios to be sure.',
  },
  privileged: {
    title: 'privileged access',
    text: "If a model describes its own weights better than another model can (given the same questions), it knows something about itself that an outsider does not: privileged access. If the other model does as well, the reports could come from common sense instead of introspection. The lab says \"shown\" only when the self-report beats every other description — each other model, each observer, the statistical observer — each compared on the scenarios both have, with every 95 % interval of the difference above 0 (an intersection–union test). Comparing with only the best-looking other says \"shown\" too often: one that merely copies the model's own reports can look best while a truly equal one is overlooked.",
  },
  position: {
    title: 'position bias',
    text: 'A habit of answering "A" (or "B") whatever the options, common in small models. When one label takes 95 % or more of the 0/1 choices, those choices say almost nothing about the weights, so the lab fits the model\'s probability of "A" instead (the soft fit). Counterbalancing shows every pair a second time with A and B swapped; comparing the two answers removes the bias.',
  },
  ceiling: {
    title: 'reliability ceiling',
    text: 'Weights measured from a few dozen noisy decisions, or averaged over a few reports, are not exact, so even a perfect relation would not show r = 1. The lab splits each scenario\'s trials into odd and even halves, correlates the weights the two halves give, and corrects for the halved length (Spearman–Brown): that is the reliability. √(reliability × reliability of the other measure) is the highest r the noise allows; r divided by it is the disattenuated r, the relation the noise hides (it can pass 1 by chance when the reliability is low). The interval comes from resampling scenarios.',
  },
  sensitivity: {
    title: 'does the model respond?',
    text: 'Learned weights are scaled so the largest is ±100, so a model whose choices hardly move looks just like one that follows the attributes closely. For each scenario the lab asks whether the choices depend on the attributes at all: a likelihood-ratio test of the logistic fit against one with no attributes (only a bias towards A or B), p-value from a chi-square with one degree of freedom per attribute. It tests the same targets the learned weights come from: the 0/1 choices, or P(A) for the soft fit, counted as one choice drawn from P(A) per trial (so a P(A) that moves by a hair is not a dependence). The fits maximise the likelihood (only a very weak prior keeps them finite), because the paper\'s prior would shrink a real dependence out of sight when there are few decisions. When fewer than half of the scenarios show p < .05, the choices are not distinguishable from ones that ignore the attributes. The raw slopes are in logits per attribute range: how much the log-odds of "A" move from the attribute\'s lowest to its highest value.',
  },
  copied: {
    title: 'copied from the options',
    text: 'A reported weight counts as copied when it equals the value of that attribute in option A or B, as the prompt showed it (e.g. 52 for "52.0"). A genuine report meets a shown value only by chance, a few per cent of the time; when 20 % or more are copies, the model is repeating the numbers in front of it rather than describing its weights.',
  },
  invalid: {
    title: 'invalid reports',
    text: 'Free-text replies that do not hold a usable JSON object with a number for each attribute. They are counted but not used; constrained mode makes them impossible.',
  },
} as const;

export type TermKey = keyof typeof GLOSSARY;
