package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The worker's structured answer for one candidate: the product of the farm. The Python harness writes it as a
 * JSON line with these component names as keys, the worker adds {@link #device()} and reports it to the
 * Dispatcher ({@link DispatcherProtocol.ReportVerdict}), which hands it to every submitter
 * ({@link DispatcherProtocol.VerdictReady}); the ProblemCoordinator persists it.
 *
 * <p>Parts of stages that were not reached are null. Absent lists and maps become empty, so JSON may leave them
 * out. Full logs stay on the worker: {@link #logs()} names them, keeping the verdict under Artery's frame size.
 *
 * @param candidateId the candidate judged
 * @param problemId the problem it was judged against
 * @param status the outcome
 * @param stage the last stage entered: where a failure happened, such as {@code "correctness"}
 * @param stageMillis wall time of each stage reached, by stage name
 * @param correctness null if the correctness stage was not reached
 * @param timing null unless the candidate was timed
 * @param checks every anti-cheat and rule check, whatever its outcome
 * @param customKernel null if the candidate never loaded
 * @param environment null if the harness died before it could say
 * @param device null until the worker fills it in
 * @param summary LLM-ready: the compiler lines that matter, the first mismatch, timings, what to try
 * @param logs names of the log files kept on the worker
 * @param kernelbench what KernelBench's own eval would decide; null from a harness that did not say
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Verdict(
    CandidateId candidateId,
    String problemId,
    Status status,
    String stage,
    Map<String, Double> stageMillis,
    Correctness correctness,
    Timing timing,
    List<Check> checks,
    CustomKernel customKernel,
    Environment environment,
    DeviceRef device,
    String summary,
    List<String> logs,
    KernelBenchVerdict kernelbench)
    implements CborSerializable {
  public Verdict {
    Require.nonNull(candidateId, "candidateId");
    Require.nonBlank(problemId, "problemId");
    Require.nonNull(status, "status");
    Require.nonNull(stage, "stage");
    stageMillis = Require.copyOrEmpty(stageMillis);
    checks = Require.copyOrEmpty(checks);
    Require.nonNull(summary, "summary");
    logs = Require.copyOrEmpty(logs);
  }

  /** A verdict without KernelBench's answer (made by the worker itself, or by a test). */
  public Verdict(CandidateId candidateId, String problemId, Status status, String stage,
      Map<String, Double> stageMillis, Correctness correctness, Timing timing, List<Check> checks,
      CustomKernel customKernel, Environment environment, DeviceRef device, String summary, List<String> logs) {
    this(candidateId, problemId, status, stage, stageMillis, correctness, timing, checks, customKernel, environment,
        device, summary, logs, null);
  }

  /** Whether the candidate passed every stage; only then does its timing count. */
  public boolean correct() {
    return status == Status.CORRECT;
  }

  /** The check of that name, if it ran. */
  public Optional<Check> check(String name) {
    return checks.stream().filter(c -> c.name().equals(name)).findFirst();
  }

  /** The same verdict, said to come from this device; the harness cannot know the node it runs on. */
  public Verdict withDevice(DeviceRef device) {
    return new Verdict(candidateId, problemId, status, stage, stageMillis, correctness, timing, checks,
        customKernel, environment, device, summary, logs, kernelbench);
  }
}
