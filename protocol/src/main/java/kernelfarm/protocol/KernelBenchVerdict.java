package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * What KernelBench's own eval would decide about the candidate, beside the farm's strict status: its rules (no
 * anti-cheat checks, its tolerances), its timing method (CUDA events on the current stream, the reference with
 * PyTorch's default flags). Results and exports carry both, so numbers compare with KernelBench's leaderboard and
 * stay honest.
 *
 * @param rules which KernelBench: {@code v0.1} (fp32 atol = rtol = 1e-2, what the leaderboard and most published
 *     numbers use) or {@code main} (per-precision tolerances, fp32 1e-4)
 * @param compiled whether the candidate imported, built and constructed
 * @param correct whether every trial matched within those tolerances (shapes equal, no NaN)
 * @param trialsPassed trials within tolerance, or null where correctness was not reached
 * @param trials trials run, or null where correctness was not reached
 * @param atol the absolute tolerance applied (the widest, where outputs differ in precision)
 * @param rtol the relative tolerance applied
 * @param speedup reference time over candidate time by KernelBench's method, or null where not timed
 * @param differences why the strict status differs from KernelBench's answer (a failed check, a tolerance), in
 *     words; empty where they agree
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record KernelBenchVerdict(
    String rules,
    boolean compiled,
    boolean correct,
    Integer trialsPassed,
    Integer trials,
    Double atol,
    Double rtol,
    Double speedup,
    List<String> differences)
    implements CborSerializable {
  /** The rule sets we can apply; v0.1 unless a campaign asks for main. */
  public static final List<String> RULES = List.of("v0.1", "main");

  public KernelBenchVerdict {
    Require.nonBlank(rules, "rules");
    differences = Require.copyOrEmpty(differences);
  }

  /** KernelBench's fast_p: correct and faster than {@code p} times the reference. */
  public boolean fasterThan(double p) {
    return correct && speedup != null && speedup > p;
  }
}
