package kernelfarm.worker;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.DeviceRef;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Stats;
import kernelfarm.protocol.Verdict;
import kernelfarm.worker.compile.CompilePool;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import kernelfarm.worker.sandbox.HarnessProcess;
import kernelfarm.worker.sandbox.HarnessRequests;
import kernelfarm.worker.sandbox.HarnessSession;
import kernelfarm.worker.sandbox.SandboxEnvironment.Role;
import kernelfarm.worker.sandbox.Verdicts;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One per device, pinned to it: pulls work from the Dispatcher, has the host's CompilePool build the next
 * candidates while its device evaluates the current one, and reports each verdict until it is acked.
 *
 * <p>The device never waits for an interpreter: an evaluation process is started ahead, and its readiness (torch
 * imported, CUDA context up, a matrix product run) doubles as the health check before the next candidate. Each
 * process serves one candidate and is discarded. A problem's reference timing is reused across its candidates on
 * this device when a short re-measure shows no drift, which is most of the farm's throughput.
 */
public final class GpuWorker extends AbstractBehavior<GpuWorker.Command> {
  /** Local to the worker node; the Dispatcher talks to this actor only through DispatcherProtocol's replies. */
  public sealed interface Command extends NoSerializationVerificationNeeded {}

  /** Finish the candidates in hand, ask for no more, then reply. Sent by coordinated shutdown and tests. */
  public record Drain(ActorRef<Done> replyTo) implements Command {}

  private record Offered(DispatcherProtocol.WorkOffer offer) implements Command {}

  private record CompileDone(CompilePool.Compiled compiled) implements Command {}

  private record SpareReady(CompletableFuture<HarnessProcess> process) implements Command {}

  private record SpareFailed(CompletableFuture<HarnessProcess> process, String reason) implements Command {}

  private record HealthChecked(HealthCheck.Result result) implements Command {}

  private enum CheckHealth implements Command { INSTANCE }

  private enum CompilePoolStopped implements Command { INSTANCE }

  private record EvaluationDone(HarnessSession.Finished finished) implements Command {}

  private record Acked(DispatcherProtocol.VerdictAck ack) implements Command {}

  private enum Tick implements Command { INSTANCE }

  private enum StartSpare implements Command { INSTANCE }

  private record Compiled(DispatcherProtocol.WorkOffer offer, HarnessRequests.Job job) {}

  /** After this many evaluation processes in a row fail to come up, the device is declared unhealthy. */
  private static final int UNHEALTHY_AFTER = 5;
  /** A harness error (the verifier's fault, not the candidate's) is retried on a fresh process this often. */
  private static final int HARNESS_ATTEMPTS = 2;
  /** The stages a compile may pass through; their limits together bound how long one can take. */
  private static final List<String> COMPILE_STAGES = List.of("ready", "compile", "build", "probe");

  private final Device device;
  private final String nodeId;
  private final String workerId;
  private final WorkerSettings settings;
  private final HarnessLauncher launcher;
  private final ActorRef<DispatcherProtocol.Command> dispatcher;
  private final ActorRef<CompilePool.Command> compilePool;
  private final TimerScheduler<Command> timers;
  private final ActorRef<DispatcherProtocol.WorkOffer> offerAdapter;
  private final ActorRef<CompilePool.Compiled> compiledAdapter;
  private final ActorRef<HarnessSession.Finished> evaluatedAdapter;
  private final ActorRef<DispatcherProtocol.VerdictAck> ackAdapter;
  private final ActorRef<HealthCheck.Result> healthAdapter;
  private final Executor blocking;

  private final Map<String, DispatcherProtocol.WorkOffer> held = new LinkedHashMap<>();
  private final Deque<Compiled> compiled = new ArrayDeque<>();
  private final Map<String, Verdict> unacked = new LinkedHashMap<>();
  private final Map<String, Stats> referenceTimings = new HashMap<>();
  /** Processes being started (on the blocking dispatcher), with when each was asked for. */
  private final Map<CompletableFuture<HarnessProcess>, Long> starting = new HashMap<>();
  private final Deque<HarnessProcess> warm = new ArrayDeque<>();
  private final Map<String, Integer> harnessErrors = new HashMap<>();
  /** Leases whose compile was asked for and not yet answered, with when it was (last) asked. */
  private final Map<String, Long> compiling = new HashMap<>();
  private Compiled evaluating;
  private long evaluatingSince;
  /** Moving averages of how long a process takes to become ready and an evaluation takes; 0 = not yet seen. */
  private double readySeconds;
  private double evaluationSeconds;
  private int spareFailures;
  /** Set when the device is taken out of service; cleared only by a passing health check. */
  private boolean unhealthy;
  private int failedHealthChecks;
  /** The node's CompilePool is gone for good: nothing more can be built here. */
  private boolean compilePoolGone;
  private boolean requestOutstanding;
  private ActorRef<Done> drainedTo;

  private GpuWorker(ActorContext<Command> context, TimerScheduler<Command> timers, Device device, String nodeId,
      WorkerSettings settings, HarnessLauncher launcher, ActorRef<DispatcherProtocol.Command> dispatcher,
      ActorRef<CompilePool.Command> compilePool) {
    super(context);
    this.timers = timers;
    this.device = device;
    this.nodeId = nodeId;
    this.workerId = nodeId + "/device-" + device.index();
    this.settings = settings;
    this.launcher = launcher;
    this.dispatcher = dispatcher;
    this.compilePool = compilePool;
    this.offerAdapter = context.messageAdapter(DispatcherProtocol.WorkOffer.class, Offered::new);
    this.compiledAdapter = context.messageAdapter(CompilePool.Compiled.class, CompileDone::new);
    this.evaluatedAdapter = context.messageAdapter(HarnessSession.Finished.class, EvaluationDone::new);
    this.ackAdapter = context.messageAdapter(DispatcherProtocol.VerdictAck.class, Acked::new);
    this.healthAdapter = context.messageAdapter(HealthCheck.Result.class, HealthChecked::new);
    this.blocking = context.getSystem().dispatchers().lookup(
        DispatcherSelector.fromConfig(WorkerSettings.BLOCKING_DISPATCHER));
    context.watchWith(compilePool, CompilePoolStopped.INSTANCE);
    startSpares();
    requestWork();
  }

  public static Behavior<Command> create(Device device, String nodeId, WorkerSettings settings,
      HarnessLauncher launcher, ActorRef<DispatcherProtocol.Command> dispatcher,
      ActorRef<CompilePool.Command> compilePool) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      // A third of the lease: one lost renewal must not re-queue work we are still doing.
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.lease().dividedBy(3));
      return new GpuWorker(ctx, timers, device, nodeId, settings, launcher, dispatcher, compilePool);
    }));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Offered.class, this::onOffered)
        .onMessage(CompileDone.class, this::onCompileDone)
        .onMessage(SpareReady.class, this::onSpareReady)
        .onMessage(SpareFailed.class, this::onSpareFailed)
        .onMessageEquals(StartSpare.INSTANCE, () -> {
          startSpares();
          return this;
        })
        .onMessage(HealthChecked.class, this::onHealthChecked)
        .onMessageEquals(CompilePoolStopped.INSTANCE, this::onCompilePoolStopped)
        .onMessageEquals(CheckHealth.INSTANCE, () -> {
          checkHealth();
          return this;
        })
        .onMessage(EvaluationDone.class, this::onEvaluationDone)
        .onMessage(Acked.class, this::onAcked)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(Drain.class, this::onDrain)
        .onSignal(PreRestart.class, signal -> handBack())
        .onSignal(PostStop.class, signal -> handBack())
        .build();
  }

  /**
   * On a restart or stop, nothing of this instance may linger. Its processes are killed: a restarted instance
   * starts spares of its own and nothing would know these, each holding a CUDA context (and on a GPU some device
   * memory) until the node stops; the evaluation in progress is a child session, stopped with its process along
   * with this actor's children. Its leases go back to the queue now rather than when they lapse, and verdicts
   * not yet acked are said once more, since the acks would reach nobody.
   */
  private Behavior<Command> handBack() {
    dispatcher.tell(new DispatcherProtocol.ReleaseLease(workerId, List.copyOf(held.keySet())));
    ActorRef<DispatcherProtocol.VerdictAck> nobody = getContext().getSystem().ignoreRef();
    unacked.forEach((leaseId, verdict) ->
        dispatcher.tell(new DispatcherProtocol.ReportVerdict(leaseId, verdict, nobody)));
    killSpares();
    return this;
  }

  private void killSpares() {
    warm.forEach(process -> offThread(process::kill));
    starting.keySet().forEach(process -> process.thenAccept(started -> offThread(started::kill)));
    warm.clear();
    starting.clear();
  }

  /** Kills wait for the process group to go: on the blocking dispatcher, or here once the node is shutting down. */
  private void offThread(Runnable blockingCall) {
    try {
      blocking.execute(blockingCall);
    } catch (RejectedExecutionException shuttingDown) {
      blockingCall.run();
    }
  }

  private Behavior<Command> onOffered(Offered offered) {
    requestOutstanding = false;
    DispatcherProtocol.WorkOffer offer = offered.offer();
    if (held.containsKey(offer.leaseId())) {
      return this;
    }
    if (unhealthy || compilePoolGone || drainedTo != null) {
      // Asked for before the device was taken out of service: another worker gets it now.
      dispatcher.tell(new DispatcherProtocol.ReleaseLease(workerId, List.of(offer.leaseId())));
      return this;
    }
    held.put(offer.leaseId(), offer);
    askToCompile(offer);
    requestWork();
    return this;
  }

  private void askToCompile(DispatcherProtocol.WorkOffer offer) {
    compiling.put(offer.leaseId(), System.nanoTime());
    compilePool.tell(new CompilePool.Compile(offer.candidate(), offer.problem(), offer.settings(), compiledAdapter));
  }

  /**
   * A compile unanswered for longer than a build can take was lost (the request that crashed the pool dies with
   * it): asked again, which the pool answers from its cache or joins to the build in progress if it was not.
   */
  private void askAgainForLostCompiles() {
    long limit = COMPILE_STAGES.stream().map(settings::stageTimeout).reduce(Duration.ZERO, Duration::plus).toNanos();
    long now = System.nanoTime();
    for (Map.Entry<String, Long> asked : List.copyOf(compiling.entrySet())) {
      DispatcherProtocol.WorkOffer offer = held.get(asked.getKey());
      if (offer == null) {
        compiling.remove(asked.getKey());
      } else if (now - asked.getValue() > limit) {
        getContext().getLog().atWarn().addKeyValue("candidate", offer.candidate().id().value())
            .log("compile unanswered past its limits; asking the compile pool again");
        askToCompile(offer);
      }
    }
  }

  private Behavior<Command> onCompilePoolStopped() {
    compilePoolGone = true;
    List<String> handedBack = List.copyOf(compiling.keySet());
    handedBack.forEach(held::remove);
    compiling.clear();
    dispatcher.tell(new DispatcherProtocol.ReleaseLease(workerId, handedBack));
    requestOutstanding = false;
    getContext().getLog().atError().addKeyValue("device", device.index())
        .addKeyValue("leasesHandedBack", handedBack.size())
        .log("the node's compile pool stopped: this device finishes what is built and takes no more work; "
            + "restart the worker node");
    return drainedIfDone();
  }

  private Behavior<Command> onCompileDone(CompileDone done) {
    CompilePool.Compiled result = done.compiled();
    for (DispatcherProtocol.WorkOffer offer : List.copyOf(held.values())) {
      if (!offer.candidate().id().equals(result.job().candidate().id()) || !compiling.containsKey(offer.leaseId())) {
        continue;
      }
      compiling.remove(offer.leaseId());
      if (result.compileError() != null) {
        report(offer.leaseId(), result.compileError());
      } else {
        compiled.add(new Compiled(offer, result.job()));
      }
      break;
    }
    evaluateNext();
    return this;
  }

  private void evaluateNext() {
    if (evaluating != null || compiled.isEmpty() || warm.isEmpty()) {
      return;
    }
    evaluating = compiled.poll();
    evaluatingSince = System.nanoTime();
    HarnessProcess process = warm.poll();
    HarnessRequests.Job job = evaluating.job();
    Stats cachedReference = settings.referenceTimingReuse()
        ? referenceTimings.get(referenceKey(job)) : null;
    String request = HarnessRequests.evaluate(launcher.json(), job, process, "evaluate",
        cachedReference, settings.driftTrials(), settings.driftTolerance(), launcher.cores().timedFor(device.index()));
    getContext().spawnAnonymous(HarnessSession.create(evaluating.offer().leaseId(), process, request, "load",
        settings::stageTimeout, evaluatedAdapter));
    startSpares();
  }

  private Behavior<Command> onEvaluationDone(EvaluationDone done) {
    HarnessSession.Finished finished = done.finished();
    Compiled current = evaluating;
    if (current == null || !current.offer().leaseId().equals(finished.tag())) {
      return this;
    }
    evaluating = null;
    evaluationSeconds = movingAverage(evaluationSeconds, (System.nanoTime() - evaluatingSince) / 1e9);
    HarnessRequests.Job job = current.job();
    if (finished.result() != null && "harness_error".equals(finished.result().path("event").asText())) {
      String leaseId = current.offer().leaseId();
      int attempts = harnessErrors.merge(leaseId, 1, Integer::sum);
      String error = finished.result().path("error").asText();
      if (attempts < HARNESS_ATTEMPTS) {
        getContext().getLog().atWarn().addKeyValue("candidate", job.candidate().id().value())
            .addKeyValue("error", lastLine(error)).log("harness error; retrying on a fresh process");
        compiled.addFirst(current);
        evaluateNext();
        return this;
      }
      harnessErrors.remove(leaseId);
    }
    Verdict verdict = Verdicts.of(launcher.json(), finished, job.candidate().id(), job.problem().id());
    if (verdict.timing() != null && verdict.timing().referenceSource() != null
        && verdict.timing().referenceSource().startsWith("measured")) {
      referenceTimings.put(referenceKey(job), verdict.timing().reference());
    }
    warnIfNotPinned(verdict);
    report(current.offer().leaseId(), verdict.withDevice(new DeviceRef(nodeId, device.index(), device.name())));
    evaluateNext();
    return this;
  }

  private void report(String leaseId, Verdict verdict) {
    held.remove(leaseId);
    unacked.put(leaseId, verdict);
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(leaseId, verdict, ackAdapter));
    requestWork();
  }

  private Behavior<Command> onAcked(Acked acked) {
    unacked.remove(acked.ack().leaseId());
    return drainedIfDone();
  }

  private Behavior<Command> onTick() {
    askAgainForLostCompiles();
    if (!held.isEmpty()) {
      dispatcher.tell(new DispatcherProtocol.RenewLease(workerId, List.copyOf(held.keySet())));
    }
    // An unacked verdict may have been lost with a moving singleton: say it again (the Dispatcher dedupes).
    unacked.forEach((leaseId, verdict) ->
        dispatcher.tell(new DispatcherProtocol.ReportVerdict(leaseId, verdict, ackAdapter)));
    requestOutstanding = false;
    requestWork();
    return this;
  }

  private Behavior<Command> onDrain(Drain drain) {
    drainedTo = drain.replyTo();
    return drainedIfDone();
  }

  private Behavior<Command> drainedIfDone() {
    if (drainedTo != null && held.isEmpty() && unacked.isEmpty()) {
      drainedTo.tell(Done.getInstance());
      return Behaviors.stopped();
    }
    return this;
  }

  private void requestWork() {
    if (drainedTo != null || requestOutstanding || unhealthy || compilePoolGone
        || held.size() >= settings.prefetch()) {
      return;
    }
    requestOutstanding = true;
    dispatcher.tell(new DispatcherProtocol.RequestWork(workerId, device.capabilities(), offerAdapter));
  }

  /** Keeps enough processes started or ready that one is ready when the device frees up; see {@link #sparesToKeep}. */
  private void startSpares() {
    Backend warmFor = device.gpu() ? Backend.TRITON : Backend.CPU;
    int wanted = device.gpu()
        ? sparesToKeep(readySeconds, evaluationSeconds, settings.warmEvaluators(), settings.warmEvaluatorsMax())
        : settings.warmEvaluators();
    while (!unhealthy && starting.size() + warm.size() < wanted) {
      CompletableFuture<HarnessProcess> process = CompletableFuture.supplyAsync(
          () -> launcher.start(Role.EVALUATE, warmFor, device), blocking);
      starting.put(process, System.nanoTime());
      getContext().pipeToSelf(process.thenCompose(started -> started.ready().toCompletableFuture())
              .orTimeout(settings.stageTimeout("ready").toMillis(), TimeUnit.MILLISECONDS),
          (ready, failure) -> failure == null ? new SpareReady(process)
              : new SpareFailed(process, rootMessage(failure)));
    }
  }

  /**
   * Processes to keep started or ready: a spare handed out now is replaced by one that is ready after
   * {@code readySeconds}, during which the device evaluates about readySeconds / evaluationSeconds candidates, each
   * taking a spare. Between {@code min} and {@code max}; {@code min} until both durations have been seen.
   */
  static int sparesToKeep(double readySeconds, double evaluationSeconds, int min, int max) {
    if (readySeconds <= 0 || evaluationSeconds <= 0) {
      return min;
    }
    int needed = (int) Math.ceil(readySeconds / evaluationSeconds) + 1;
    return Math.max(min, Math.min(max, needed));
  }

  /** Weighs the latest sample by a quarter: follows a change within a few candidates, shrugs off one outlier. */
  private static double movingAverage(double average, double sample) {
    return average <= 0 ? sample : 0.75 * average + 0.25 * sample;
  }

  private Behavior<Command> onSpareReady(SpareReady ready) {
    Long askedAt = starting.remove(ready.process());
    if (askedAt == null) {
      return this; // killed already, with the instance or the device's spares
    }
    readySeconds = movingAverage(readySeconds, (System.nanoTime() - askedAt) / 1e9);
    warm.add(ready.process().join());
    spareFailures = 0;
    startSpares();
    evaluateNext();
    requestWork();
    return this;
  }

  private Behavior<Command> onSpareFailed(SpareFailed failed) {
    if (starting.remove(failed.process()) == null) {
      return this;
    }
    failed.process().thenAccept(started -> offThread(started::kill));
    spareFailures++;
    if (spareFailures >= UNHEALTHY_AFTER) {
      takeOutOfService(failed.reason());
      return this;
    }
    Duration backoff = settings.healthRetry(spareFailures);
    getContext().getLog().atWarn().addKeyValue("device", device.index()).addKeyValue("reason", failed.reason())
        .addKeyValue("retryIn", backoff).log("evaluation process failed to start; retrying");
    timers.startSingleTimer(StartSpare.INSTANCE, backoff);
    return this;
  }

  /**
   * Stops pulling and hands every lease back at once (except the candidate being evaluated, whose process is up
   * and finishes), so no work waits on a device that cannot run it; then checks the device until it passes.
   */
  private void takeOutOfService(String reason) {
    unhealthy = true;
    timers.cancel(StartSpare.INSTANCE);
    killSpares();
    String current = evaluating == null ? null : evaluating.offer().leaseId();
    List<String> handedBack = held.keySet().stream().filter(leaseId -> !leaseId.equals(current)).toList();
    handedBack.forEach(held::remove);
    handedBack.forEach(compiling::remove);
    compiled.removeIf(c -> !c.offer().leaseId().equals(current));
    // Sent even with nothing to hand back: it also withdraws this worker's pending request for work.
    dispatcher.tell(new DispatcherProtocol.ReleaseLease(workerId, handedBack));
    requestOutstanding = false;
    getContext().getLog().atError().addKeyValue("device", device.index()).addKeyValue("reason", reason)
        .addKeyValue("leasesHandedBack", handedBack.size())
        .log("device unhealthy: evaluation processes keep failing to start; taking no work until a health check "
            + "passes");
    checkHealth();
  }

  private void checkHealth() {
    getContext().spawnAnonymous(HealthCheck.create(device, launcher, blocking, healthAdapter));
  }

  private Behavior<Command> onHealthChecked(HealthChecked checked) {
    if (!unhealthy) {
      return this;
    }
    if (!checked.result().healthy()) {
      failedHealthChecks++;
      Duration backoff = settings.healthRetry(failedHealthChecks);
      getContext().getLog().atWarn().addKeyValue("device", device.index())
          .addKeyValue("reason", checked.result().reason()).addKeyValue("retryIn", backoff)
          .log("health check failed; the device stays out of service");
      timers.startSingleTimer(CheckHealth.INSTANCE, backoff);
      return this;
    }
    unhealthy = false;
    spareFailures = 0;
    failedHealthChecks = 0;
    getContext().getLog().atInfo().addKeyValue("device", device.index())
        .log("health check passed; the device takes work again");
    startSpares();
    requestWork();
    return this;
  }

  private static String rootMessage(Throwable failure) {
    Throwable t = failure;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }

  /** The process says which device it was started for and saw; anything but this worker's is a farm bug. */
  private void warnIfNotPinned(Verdict verdict) {
    var env = verdict.environment();
    if (!device.pinnedIn(env)) {
      getContext().getLog().atError().addKeyValue("candidate", verdict.candidateId().value())
          .addKeyValue("device", device.index()).addKeyValue("sawIndex", env.deviceIndex())
          .addKeyValue("sawVisible", env.visibleDevices()).addKeyValue("sawUuid", env.deviceUuid())
          .log("evaluated on a process not pinned to this worker's device");
    }
  }

  /** Reference timings are reused per problem and settings: other trials or tolerances time differently. */
  private static String referenceKey(HarnessRequests.Job job) {
    return job.problem().id() + "|" + job.settings().hashCode();
  }

  private static String lastLine(String text) {
    String[] lines = text.strip().split("\n");
    return lines[lines.length - 1];
  }
}
