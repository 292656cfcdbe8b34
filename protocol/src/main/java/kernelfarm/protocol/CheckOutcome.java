package kernelfarm.protocol;

/** What one anti-cheat or rule check found. */
public enum CheckOutcome {
  PASSED,
  /** The candidate broke the rule; the verdict is REJECTED. */
  FAILED,
  /** Suspicious but allowed by the campaign (a PyTorch-only candidate where real kernels are not required). */
  FLAGGED,
  /** Not run: an earlier stage failed, or the check does not apply to this backend or device. */
  SKIPPED
}
