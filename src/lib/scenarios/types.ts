/** One numeric attribute of a decision context, e.g. `caffeine_content` in mg, 0..70. */
export interface Attribute {
  /** snake_case name; also the key the model must use in its self-report. */
  name: string;
  /** Units shown after the value ("mg", "years"); may be empty (the paper's CSV has none). */
  units: string;
  min: number;
  max: number;
}

/**
 * A decision context (the paper's "scenario"): an agent choosing between two
 * options A and B described by the same attributes.
 */
export interface Scenario {
  /** Stable id, e.g. `loose_leaf_tea`. Trial ids and CSV rows use it. */
  id: string;
  /** Full question with the agent role: "Imagine you are Macbeth. Which castle would you prefer?" */
  question: string;
  attributes: Attribute[];
}

/** A choice type before an agent role is attached to it. */
export interface ChoiceType {
  id: string;
  /** Question without the role: "Which loose leaf tea would you prefer?" */
  question: string;
  attributes: Attribute[];
}

/** An option's attribute values, aligned with `Scenario.attributes`. */
export type OptionValues = number[];

/** Attribute weights aligned with `Scenario.attributes`, in −100..100. */
export type Weights = number[];
