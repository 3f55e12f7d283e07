/**
 * The part of papaparse's API the pure core uses, for tsconfig.lib.json only:
 * @types/papaparse references Node's types, which would let Node APIs slip
 * into src/lib unnoticed.
 */
declare module 'papaparse' {
  export interface ParseError {
    type: string;
    code: string;
    message: string;
    row?: number;
    index?: number;
  }
  export interface ParseResult<T> {
    data: T[];
    errors: ParseError[];
    meta: { fields?: string[]; delimiter: string; linebreak: string; aborted: boolean; truncated: boolean };
  }
  export interface ParseConfig {
    header?: boolean;
    delimiter?: string;
    skipEmptyLines?: boolean | 'greedy';
    dynamicTyping?: boolean;
    transformHeader?: (header: string, index: number) => string;
  }
  export interface UnparseConfig {
    newline?: string;
    quotes?: boolean | boolean[];
  }
  const Papa: {
    parse<T>(input: string, config?: ParseConfig): ParseResult<T>;
    unparse(data: { fields: string[]; data: unknown[][] } | unknown[], config?: UnparseConfig): string;
  };
  export default Papa;
}
