package kernelfarm.protocol;

/** A verdict's outcome, in the order of the stages that produce them; each prompts its own feedback template. */
public enum Status {
  /** The extension or Triton kernel did not build, or the source did not import. */
  COMPILE_ERROR,
  /** Raised, crashed or ran out of memory while loading or running. */
  RUNTIME_ERROR,
  /** A stage ran past its time limit and the sandbox was killed. */
  TIMEOUT,
  /** Ran, but an output differs from the reference in value, shape or dtype, or is NaN or Inf. */
  INCORRECT,
  /** Correct outputs, refused by a rule or an anti-cheat check (see the verdict's checks). */
  REJECTED,
  /** Passed every stage; the verdict has its timing. */
  CORRECT
}
