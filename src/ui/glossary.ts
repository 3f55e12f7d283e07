/** Short explanations of the terms the Results view uses, for students. */
export const GLOSSARY = {
  target: {
    title: 'target weights',
    text: 'Weights drawn at random for each scenario. In the paper, fine-tuning taught the model to choose by them. An untouched model has never seen them, so its choices should not follow them (expect r near 0).',
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
  invalid: {
    title: 'invalid reports',
    text: 'Free-text replies that do not hold a usable JSON object with a number for each attribute. They are counted but not used; constrained mode makes them impossible.',
  },
} as const;

export type TermKey = keyof typeof GLOSSARY;
