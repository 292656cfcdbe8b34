package kernelfarm.protocol;

import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The work-pulling protocol between Branches, the Dispatcher singleton and GpuWorkers. Every message here is a
 * {@link KryoMessage}: it is per candidate, on the hot path and never persisted.
 *
 * <p>Work flows by pull: an idle GpuWorker asks ({@link RequestWork}), the Dispatcher offers one candidate under a
 * lease ({@link WorkOffer}), the worker keeps the lease alive ({@link RenewLease}) and reports
 * ({@link ReportVerdict}) until acked ({@link VerdictAck}). Work whose lease lapses, or whose worker leaves the
 * cluster, is offered again; every step is idempotent by candidate id or lease id, so any message may be repeated.
 */
public final class DispatcherProtocol {
  /** The cluster singleton's name, on nodes with role {@code coordinator}. */
  public static final String SINGLETON_NAME = "dispatcher";

  private DispatcherProtocol() {}

  /** What the Dispatcher accepts. */
  public sealed interface Command extends KryoMessage
      permits SubmitCandidate, Withdraw, RequestWork, RenewLease, ReleaseLease, ReportVerdict, GetStatus,
          DeviceReport {}

  /**
   * Verify this candidate. Sent by a Branch. The Dispatcher answers {@link Queued} at once, then sends
   * {@link VerdictReady} to {@code verdictTo} when a worker has judged it (at once if a verdict for the same
   * candidate on a matching device is cached). A repeat is safe: the candidate is queued once, and each distinct
   * {@code verdictTo} gets the verdict.
   */
  public record SubmitCandidate(
      Candidate candidate,
      Problem problem,
      VerifySettings settings,
      ActorRef<VerdictReady> verdictTo,
      ActorRef<Queued> replyTo)
      implements Command {
    public SubmitCandidate {
      Require.nonNull(candidate, "candidate");
      Require.nonNull(problem, "problem");
      if (!candidate.problemId().equals(problem.id())) {
        throw new IllegalArgumentException(
            "candidate.problemId must equal problem.id (" + problem.id() + "), got " + candidate.problemId());
      }
      Require.nonNull(settings, "settings");
      Require.nonNull(verdictTo, "verdictTo");
      Require.nonNull(replyTo, "replyTo");
    }
  }

  /**
   * The submitter no longer wants this candidate's verdict (its problem reached its deadline or its stop rule).
   * Sent by a ProblemCoordinator. A candidate nobody else waits for leaves the queue; one already leased runs to
   * its end (killing a measurement half-way saves little), and its verdict is still cached. No reply; a repeat, or
   * one for an unknown candidate, is harmless.
   */
  public record Withdraw(CandidateId candidateId, VerifySettings settings, ActorRef<VerdictReady> verdictTo)
      implements Command {
    public Withdraw {
      Require.nonNull(candidateId, "candidateId");
      Require.nonNull(settings, "settings");
      Require.nonNull(verdictTo, "verdictTo");
    }
  }

  /**
   * The Dispatcher's answer to {@link SubmitCandidate}: the candidate is accepted.
   *
   * @param cached the verdict came from the cache and is already on its way; no GPU time will be spent
   */
  public record Queued(CandidateId candidateId, boolean cached) implements KryoMessage {
    public Queued {
      Require.nonNull(candidateId, "candidateId");
    }
  }

  /**
   * This device is idle: give it work. Sent by a GpuWorker when it has room for one more candidate. The
   * Dispatcher answers with one {@link WorkOffer} when it has work the capabilities can run, and keeps the
   * request until then. A repeat from the same worker replaces the pending one.
   *
   * @param workerId unique per device in the cluster, such as the GpuWorker's path
   */
  public record RequestWork(String workerId, DeviceCapabilities capabilities, ActorRef<WorkOffer> replyTo)
      implements Command {
    public RequestWork {
      Require.nonBlank(workerId, "workerId");
      Require.nonNull(capabilities, "capabilities");
      Require.nonNull(replyTo, "replyTo");
    }
  }

  /**
   * One candidate to verify, leased to the worker that asked. Unless the worker renews it ({@link RenewLease})
   * or reports within {@code lease}, the Dispatcher offers the candidate to another worker.
   *
   * @param leaseId names this lease in renewals and the report; a new offer of the same candidate gets a new one
   * @param lease how long the lease lasts without renewal
   */
  public record WorkOffer(
      String leaseId, Candidate candidate, Problem problem, VerifySettings settings, Duration lease)
      implements KryoMessage {
    public WorkOffer {
      Require.nonBlank(leaseId, "leaseId");
      Require.nonNull(candidate, "candidate");
      Require.nonNull(problem, "problem");
      Require.nonNull(settings, "settings");
      Require.nonNull(lease, "lease");
      if (lease.isZero() || lease.isNegative()) {
        throw new IllegalArgumentException("lease must be positive, got " + lease);
      }
    }
  }

  /**
   * Still working on these. Sent by a GpuWorker at a third of the lease, for every lease it holds. The Dispatcher
   * extends each lease the worker still holds (a lapsed one too, or one the singleton granted before it moved, if
   * its candidate is still waiting in the queue) and answers {@link RenewalRefused} for the rest: lapsed and leased
   * to another worker, handed back, already judged, or unknown. A repeat is safe.
   */
  public record RenewLease(String workerId, List<String> leaseIds, ActorRef<RenewalRefused> replyTo)
      implements Command {
    public RenewLease {
      Require.nonBlank(workerId, "workerId");
      leaseIds = List.copyOf(Require.nonNull(leaseIds, "leaseIds"));
      Require.nonNull(replyTo, "replyTo");
    }
  }

  /**
   * The Dispatcher's answer to {@link RenewLease}, only for leases the worker no longer holds: it should stop
   * working on them. A verdict it has already computed may still be reported; the first verdict for a candidate
   * is kept, whoever sends it.
   */
  public record RenewalRefused(List<String> leaseIds) implements KryoMessage {
    public RenewalRefused {
      leaseIds = List.copyOf(Require.nonNull(leaseIds, "leaseIds"));
    }
  }

  /**
   * Hands these leases back unfinished: their candidates go to the head of the queue for another worker at once,
   * instead of when the leases would have lapsed. Sent by a GpuWorker whose device turned unhealthy, that is
   * draining, or that restarts. The worker also wants no more work until it asks again, so a pending
   * {@link RequestWork} of {@code workerId} is dropped. No reply; lease ids this worker does not hold are ignored,
   * so a repeat is safe.
   */
  public record ReleaseLease(String workerId, List<String> leaseIds) implements Command {
    public ReleaseLease {
      Require.nonBlank(workerId, "workerId");
      leaseIds = List.copyOf(Require.nonNull(leaseIds, "leaseIds"));
    }
  }

  /**
   * The verdict for a leased candidate. Sent by a GpuWorker, and again until it gets {@link VerdictAck}: a
   * verdict is computed once and must not be lost. The Dispatcher acks a repeat again, and acks a report for a
   * lapsed lease too, keeping its verdict if the candidate has none yet, even when the candidate has since been
   * leased to another worker (whose renewals are then refused).
   */
  public record ReportVerdict(String leaseId, Verdict verdict, ActorRef<VerdictAck> replyTo) implements Command {
    public ReportVerdict {
      Require.nonBlank(leaseId, "leaseId");
      Require.nonNull(verdict, "verdict");
      Require.nonNull(replyTo, "replyTo");
    }
  }

  /** The Dispatcher's answer to {@link ReportVerdict}: the worker may forget the lease and its verdict. */
  public record VerdictAck(String leaseId) implements KryoMessage {
    public VerdictAck {
      Require.nonBlank(leaseId, "leaseId");
    }
  }

  /**
   * A submitted candidate's verdict. Sent by the Dispatcher to the {@code verdictTo} of every
   * {@link SubmitCandidate} for that candidate. May arrive more than once; receivers keep the first per
   * candidate id.
   */
  public record VerdictReady(Verdict verdict) implements KryoMessage {
    public VerdictReady {
      Require.nonNull(verdict, "verdict");
    }
  }

  /**
   * What a device is doing, seen from its own node: only the worker knows whether a lease is compiling or
   * evaluating, how many evaluation processes it keeps warm and whether the device is healthy. Sent by a GpuWorker
   * when its state changes and with every lease renewal tick, so a device that asks for nothing (unhealthy,
   * draining) is still seen. No reply; each report replaces the last, so a repeat or a lost one is harmless. Kept in
   * the Dispatcher's memory only, and shown in {@link WorkerStatus}.
   *
   * @param warmEvaluators evaluation processes started and ready for this device
   * @param compileSlotsBusy compiles running on the device's host, for all its devices
   * @param compileSlotsTotal compiles the host runs at once
   * @param healthy false from a failed health check until one passes, whatever the device is still finishing
   */
  public record DeviceReport(String workerId, String deviceType, DeviceState state, boolean healthy,
      int warmEvaluators, int compileSlotsBusy, int compileSlotsTotal) implements Command {
    public DeviceReport {
      Require.nonBlank(workerId, "workerId");
      Require.nonBlank(deviceType, "deviceType");
      Require.nonNull(state, "state");
      Require.atLeast(warmEvaluators, 0, "warmEvaluators");
      Require.atLeast(compileSlotsTotal, 0, "compileSlotsTotal");
      if (compileSlotsBusy < 0 || compileSlotsBusy > compileSlotsTotal) {
        throw new IllegalArgumentException(
            "compileSlotsBusy must be within 0 and compileSlotsTotal (" + compileSlotsTotal + "), got "
                + compileSlotsBusy);
      }
    }
  }

  /**
   * How the queue and the workers stand, for the dashboard and /metrics. Sent by a coordinator's HTTP side, a few
   * times a minute; answered at once with {@link FarmStatus}. Read-only, so a repeat is safe.
   */
  public record GetStatus(ActorRef<FarmStatus> replyTo) implements Command {
    public GetStatus {
      Require.nonNull(replyTo, "replyTo");
    }
  }

  /**
   * The Dispatcher's answer to {@link GetStatus}. Small whatever the load: counts, and one line per worker it has
   * heard from recently (a worker that left drops out after three leases of silence).
   *
   * @param queued candidates waiting for a worker
   * @param leased candidates a worker holds a lease on (compiling or evaluating)
   * @param verdictsLastMinute verdicts reported in the last 60 seconds
   * @param verdicts verdicts reported since this Dispatcher started (it restarts when the singleton moves)
   */
  public record FarmStatus(int queued, int leased, int verdictsLastMinute, long verdicts, List<WorkerStatus> workers)
      implements KryoMessage {
    public FarmStatus {
      workers = List.copyOf(Require.nonNull(workers, "workers"));
    }
  }

  /**
   * One worker (one device) as the Dispatcher sees it. Leased time covers the candidate's compile and evaluation:
   * the Dispatcher cannot tell the two apart, so {@code leasedSeconds / seenSeconds} is the share of time the
   * device had work, an upper bound on the share it evaluated.
   *
   * @param waiting it has asked for work and none is queued that it can run
   * @param seenSeconds since the Dispatcher first heard from it
   * @param silentSeconds since it last asked, renewed or reported
   * @param device its latest {@link DeviceReport}; null until it sends one
   */
  public record WorkerStatus(String workerId, String deviceType, int leases, boolean waiting, double leasedSeconds,
      double seenSeconds, double silentSeconds, long verdicts, DeviceReport device) implements KryoMessage {
    public WorkerStatus {
      Require.nonBlank(workerId, "workerId");
      Require.nonBlank(deviceType, "deviceType");
    }
  }
}
