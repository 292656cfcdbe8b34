package kernelfarm.worker;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import kernelfarm.protocol.DeviceRef;
import kernelfarm.protocol.DeviceState;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Stats;
import kernelfarm.protocol.Verdict;
import kernelfarm.worker.compile.CompilePool;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import kernelfarm.worker.sandbox.HarnessRequests;
import kernelfarm.worker.sandbox.HarnessSession;
import kernelfarm.worker.sandbox.Verdicts;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * One per device, pinned to it: pulls work from the Dispatcher, has the host's CompilePool build the next
 * candidates while its device evaluates the current one, and reports each verdict until it is acked. It keeps the
 * protocol with the cluster (leases, renewals, verdicts, draining); its supervised {@link Evaluator} child owns the
 * device's processes, as the distributed-workers sample's Worker hands each job to its WorkExecutor.
 *
 * <p>A device the Evaluator finds unhealthy hands its leases back at once and asks for nothing until a health
 * check passes. A problem's reference timing is reused across its candidates on this device when a short
 * re-measure shows no drift, which is most of the farm's throughput.
 */
public final class GpuWorker extends AbstractBehavior<GpuWorker.Command> {
  /** Local to the worker node; the Dispatcher talks to this actor only through DispatcherProtocol's replies. */
  public sealed interface Command extends NoSerializationVerificationNeeded {}

  /**
   * Stop pulling, hand back every lease not being evaluated, finish the evaluation in progress, see its verdict
   * acked, then reply and stop. Sent by coordinated shutdown (a node leaving) and tests.
   */
  public record Drain(ActorRef<Done> replyTo) implements Command {}

  private record Offered(DispatcherProtocol.WorkOffer offer) implements Command {}

  private record CompileDone(CompilePool.Compiled compiled) implements Command {}

  private record FromEvaluator(Evaluator.Outcome outcome) implements Command {}

  private record Acked(DispatcherProtocol.VerdictAck ack) implements Command {}

  private record Refused(DispatcherProtocol.RenewalRefused refused) implements Command {}

  private enum Tick implements Command { INSTANCE }

  private enum CompilePoolStopped implements Command { INSTANCE }

  private enum EvaluatorStopped implements Command { INSTANCE }

  private record Compiled(DispatcherProtocol.WorkOffer offer, HarnessRequests.Job job) {}

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
  private final ActorRef<Evaluator.Command> evaluator;
  private final ActorRef<DispatcherProtocol.WorkOffer> offerAdapter;
  private final ActorRef<CompilePool.Compiled> compiledAdapter;
  private final ActorRef<DispatcherProtocol.VerdictAck> ackAdapter;
  private final ActorRef<DispatcherProtocol.RenewalRefused> refusedAdapter;
  private final WorkerMetrics metrics;
  private final WorkerMetrics.DeviceClock deviceClock;
  /** The last DeviceReport sent, so a message that changes nothing sends none. */
  private DispatcherProtocol.DeviceReport reported;

  private final Map<String, DispatcherProtocol.WorkOffer> held = new LinkedHashMap<>();
  /** Leases whose compile was asked for and not yet answered, with when it was (last) asked. */
  private final Map<String, Long> compiling = new HashMap<>();
  private final Deque<Compiled> compiled = new ArrayDeque<>();
  private final Map<String, Verdict> unacked = new LinkedHashMap<>();
  private final Map<String, Stats> referenceTimings = new HashMap<>();
  private final Map<String, Integer> harnessErrors = new HashMap<>();
  private Compiled evaluating;
  /** Set while the Evaluator says the device is out of service; cleared when a health check passes. */
  private boolean unhealthy;
  /** The node's CompilePool is gone for good: nothing more can be built here. */
  private boolean compilePoolGone;
  private boolean requestOutstanding;
  private ActorRef<Done> drainedTo;

  private GpuWorker(ActorContext<Command> context, Device device, String nodeId, WorkerSettings settings,
      HarnessLauncher launcher, ActorRef<DispatcherProtocol.Command> dispatcher,
      ActorRef<CompilePool.Command> compilePool, WorkerMetrics metrics,
      Function<ActorRef<Evaluator.Outcome>, Behavior<Evaluator.Command>> evaluatorFactory) {
    super(context);
    this.metrics = metrics;
    this.deviceClock = metrics.device(device.index());
    this.device = device;
    this.nodeId = nodeId;
    this.workerId = nodeId + "/device-" + device.index();
    this.settings = settings;
    this.launcher = launcher;
    this.dispatcher = dispatcher;
    this.compilePool = compilePool;
    this.offerAdapter = context.messageAdapter(DispatcherProtocol.WorkOffer.class, Offered::new);
    this.compiledAdapter = context.messageAdapter(CompilePool.Compiled.class, CompileDone::new);
    this.ackAdapter = context.messageAdapter(DispatcherProtocol.VerdictAck.class, Acked::new);
    this.refusedAdapter = context.messageAdapter(DispatcherProtocol.RenewalRefused.class, Refused::new);
    ActorRef<Evaluator.Outcome> outcomes = context.messageAdapter(Evaluator.Outcome.class, FromEvaluator::new);
    // Its handlers block (process starts, kills, request files): the blocking dispatcher, not this actor's.
    this.evaluator = context.spawn(supervisedEvaluator(evaluatorFactory.apply(outcomes)), "evaluator",
        DispatcherSelector.fromConfig(WorkerSettings.BLOCKING_DISPATCHER));
    context.watchWith(evaluator, EvaluatorStopped.INSTANCE);
    context.watchWith(compilePool, CompilePoolStopped.INSTANCE);
    requestWork();
    classify(true);
  }

  public static Behavior<Command> create(Device device, String nodeId, WorkerSettings settings,
      HarnessLauncher launcher, ActorRef<DispatcherProtocol.Command> dispatcher,
      ActorRef<CompilePool.Command> compilePool, WorkerMetrics metrics) {
    return create(device, nodeId, settings, launcher, dispatcher, compilePool, metrics,
        parent -> Evaluator.create(device, settings, launcher, metrics, parent));
  }

  /** With the Evaluator made by {@code evaluatorFactory} (given where its outcomes go): tests put probes there. */
  static Behavior<Command> create(Device device, String nodeId, WorkerSettings settings,
      HarnessLauncher launcher, ActorRef<DispatcherProtocol.Command> dispatcher,
      ActorRef<CompilePool.Command> compilePool,
      Function<ActorRef<Evaluator.Outcome>, Behavior<Evaluator.Command>> evaluatorFactory) {
    return create(device, nodeId, settings, launcher, dispatcher, compilePool, WorkerMetrics.unscraped(),
        evaluatorFactory);
  }

  private static Behavior<Command> create(Device device, String nodeId, WorkerSettings settings,
      HarnessLauncher launcher, ActorRef<DispatcherProtocol.Command> dispatcher,
      ActorRef<CompilePool.Command> compilePool, WorkerMetrics metrics,
      Function<ActorRef<Evaluator.Outcome>, Behavior<Evaluator.Command>> evaluatorFactory) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      // A third of the lease: one lost renewal must not re-queue work we are still doing.
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.lease().dividedBy(3));
      return new GpuWorker(ctx, device, nodeId, settings, launcher, dispatcher, compilePool, metrics,
          evaluatorFactory);
    }));
  }

  /**
   * The process owner restarts, with backoff (a GPU that crashes every harness would otherwise restart it in a
   * tight loop), and declines what it was asked before it does, so the lease is evaluated again or handed back.
   */
  private static Behavior<Evaluator.Command> supervisedEvaluator(Behavior<Evaluator.Command> evaluator) {
    return Behaviors.supervise(evaluator).onFailure(
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(500), Duration.ofSeconds(30), 0.2)
            .withResetBackoffAfter(Duration.ofMinutes(5)));
  }

  @Override
  public Receive<Command> createReceive() {
    // Every message that can change what the device does ends by telling its clock, for kfarm_device_seconds,
    // and the Dispatcher, for the cluster status.
    return newReceiveBuilder()
        .onMessage(Offered.class, m -> timed(onOffered(m)))
        .onMessage(CompileDone.class, m -> timed(onCompileDone(m)))
        .onMessage(FromEvaluator.class, m -> timed(onFromEvaluator(m)))
        .onMessage(Acked.class, this::onAcked)
        .onMessage(Refused.class, m -> timed(onRefused(m)))
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(Drain.class, m -> timed(onDrain(m)))
        .onMessageEquals(CompilePoolStopped.INSTANCE, () -> timed(onCompilePoolStopped()))
        .onMessageEquals(EvaluatorStopped.INSTANCE, () -> {
          // Only a stop outside its supervision ends it; a fresh GpuWorker (restarted with backoff) makes another.
          throw new IllegalStateException("the evaluator of device " + device.index() + " stopped");
        })
        .onSignal(PreRestart.class, signal -> handBack())
        .onSignal(PostStop.class, signal -> handBack())
        .build();
  }

  private Behavior<Command> timed(Behavior<Command> next) {
    classify(false);
    return next;
  }

  /**
   * Evaluating while a process runs a candidate, since the GPU is busy whatever comes next (utilisation counts it);
   * else unhealthy while out of service; else draining; else compiling while one of its leases waits for a build
   * (the device has nothing to run); else idle. The clock always hears it; the Dispatcher hears a report when
   * anything in it changed, or {@code always} (the renewal tick, so a report lost with a moving singleton is
   * replaced within a third of a lease).
   */
  private void classify(boolean always) {
    DeviceState state = evaluating != null ? DeviceState.evaluating
        : unhealthy ? DeviceState.unhealthy
        : drainedTo != null ? DeviceState.draining
        : !compiling.isEmpty() ? DeviceState.compiling
        : DeviceState.idle;
    deviceClock.enter(state);
    var report = new DispatcherProtocol.DeviceReport(workerId, device.capabilities().deviceType(), state,
        !unhealthy, deviceClock.warmEvaluators(), metrics.compileSlotsBusy(), settings.compileSlots());
    if (always || !report.equals(reported)) {
      reported = report;
      dispatcher.tell(report);
    }
  }

  /**
   * On a restart or stop: its leases go back to the queue now rather than when they lapse, and verdicts not yet
   * acked are said once more, since the acks would reach nobody. The Evaluator, a child, stops with it and kills
   * its processes.
   */
  private Behavior<Command> handBack() {
    deviceClock.enter(DeviceState.idle);
    dispatcher.tell(new DispatcherProtocol.ReleaseLease(workerId, List.copyOf(held.keySet())));
    ActorRef<DispatcherProtocol.VerdictAck> nobody = getContext().getSystem().ignoreRef();
    unacked.forEach((leaseId, verdict) ->
        dispatcher.tell(new DispatcherProtocol.ReportVerdict(leaseId, verdict, nobody)));
    return this;
  }

  private Behavior<Command> onOffered(Offered offered) {
    requestOutstanding = false;
    DispatcherProtocol.WorkOffer offer = offered.offer();
    if (held.containsKey(offer.leaseId())) {
      return this;
    }
    if (!pulling()) {
      // Asked for before the device stopped taking work: another worker gets it now.
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
    handBackNow(handedBack);
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
    if (evaluating != null || compiled.isEmpty() || unhealthy) {
      return;
    }
    evaluating = compiled.poll();
    HarnessRequests.Job job = evaluating.job();
    Stats cachedReference = settings.referenceTimingReuse() ? referenceTimings.get(referenceKey(job)) : null;
    evaluator.tell(new Evaluator.Evaluate(evaluating.offer().leaseId(), job, cachedReference));
  }

  private Behavior<Command> onFromEvaluator(FromEvaluator from) {
    Evaluator.Outcome outcome = from.outcome();
    if (outcome instanceof Evaluator.Evaluated evaluated) {
      return onEvaluated(evaluated);
    } else if (outcome instanceof Evaluator.Declined declined) {
      return onDeclined(declined);
    } else if (outcome instanceof Evaluator.Unhealthy sick) {
      return onUnhealthy(sick);
    }
    return onHealthy();
  }

  private Behavior<Command> onEvaluated(Evaluator.Evaluated evaluated) {
    HarnessSession.Finished finished = evaluated.finished();
    Compiled current = evaluating;
    if (current == null || !current.offer().leaseId().equals(evaluated.leaseId())) {
      return this;
    }
    evaluating = null;
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
    return drainedIfDone();
  }

  /** Not evaluated: handed back if the device is out of service, else asked again (the Evaluator restarted). */
  private Behavior<Command> onDeclined(Evaluator.Declined declined) {
    if (evaluating == null || !evaluating.offer().leaseId().equals(declined.leaseId())) {
      return this;
    }
    Compiled current = evaluating;
    evaluating = null;
    if (unhealthy || drainedTo != null) {
      handBackNow(List.of(declined.leaseId()));
    } else {
      compiled.addFirst(current);
      evaluateNext();
    }
    return drainedIfDone();
  }

  /**
   * No work waits on a device that cannot run it: every lease goes back at once except the one being evaluated,
   * whose process is up and finishes (the Evaluator declines it if not).
   */
  private Behavior<Command> onUnhealthy(Evaluator.Unhealthy sick) {
    unhealthy = true;
    String current = evaluating == null ? null : evaluating.offer().leaseId();
    List<String> handedBack = held.keySet().stream().filter(leaseId -> !leaseId.equals(current)).toList();
    handBackNow(handedBack);
    getContext().getLog().atError().addKeyValue("device", device.index()).addKeyValue("reason", sick.reason())
        .addKeyValue("leasesHandedBack", handedBack.size())
        .log("device unhealthy: evaluation processes keep failing to start; taking no work until a health check "
            + "passes");
    return drainedIfDone();
  }

  private Behavior<Command> onHealthy() {
    unhealthy = false;
    getContext().getLog().atInfo().addKeyValue("device", device.index())
        .log("health check passed; the device takes work again");
    requestWork();
    return this;
  }

  /**
   * Gives these leases up and tells the Dispatcher, which re-queues their candidates now. Sent even with nothing
   * to hand back: it also withdraws this worker's pending request for work.
   */
  private void handBackNow(List<String> leaseIds) {
    leaseIds.forEach(held::remove);
    leaseIds.forEach(compiling::remove);
    compiled.removeIf(c -> leaseIds.contains(c.offer().leaseId()));
    dispatcher.tell(new DispatcherProtocol.ReleaseLease(workerId, List.copyOf(leaseIds)));
    requestOutstanding = false;
  }

  private void report(String leaseId, Verdict verdict) {
    held.remove(leaseId);
    unacked.put(leaseId, verdict);
    getContext().getLog().atDebug().addKeyValue("device", device.index()).addKeyValue("lease", leaseId)
        .addKeyValue("candidate", verdict.candidateId().value()).addKeyValue("status", verdict.status())
        .log("verdict reported");
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(leaseId, verdict, ackAdapter));
    requestWork();
  }

  /**
   * These leases are another worker's now (or their candidates are judged): dropped, so this device stops
   * spending time on them. The one being evaluated finishes, since its verdict is nearly there and is kept if it
   * is the first; it is no longer renewed.
   */
  private Behavior<Command> onRefused(Refused refused) {
    List<String> leaseIds = refused.refused().leaseIds();
    leaseIds.forEach(held::remove);
    leaseIds.forEach(compiling::remove);
    compiled.removeIf(c -> leaseIds.contains(c.offer().leaseId()));
    getContext().getLog().atWarn().addKeyValue("device", device.index()).addKeyValue("leases", leaseIds.size())
        .log("lease renewal refused: another worker has the candidate now; dropped");
    requestWork();
    return drainedIfDone();
  }

  private Behavior<Command> onAcked(Acked acked) {
    unacked.remove(acked.ack().leaseId());
    return drainedIfDone();
  }

  private Behavior<Command> onTick() {
    askAgainForLostCompiles();
    if (!held.isEmpty()) {
      dispatcher.tell(new DispatcherProtocol.RenewLease(workerId, List.copyOf(held.keySet()), refusedAdapter));
    }
    // An unacked verdict may have been lost with a moving singleton: say it again (the Dispatcher dedupes).
    unacked.forEach((leaseId, verdict) ->
        dispatcher.tell(new DispatcherProtocol.ReportVerdict(leaseId, verdict, ackAdapter)));
    requestOutstanding = false;
    requestWork();
    classify(true);
    return this;
  }

  /** What is being evaluated finishes; everything else goes back now, so a drain lasts one evaluation at most. */
  private Behavior<Command> onDrain(Drain drain) {
    if (drainedTo == null) {
      String current = evaluating == null ? null : evaluating.offer().leaseId();
      List<String> handedBack = held.keySet().stream().filter(leaseId -> !leaseId.equals(current)).toList();
      handBackNow(handedBack);
      getContext().getLog().atInfo().addKeyValue("device", device.index())
          .addKeyValue("leasesHandedBack", handedBack.size()).addKeyValue("finishing", current == null ? 0 : 1)
          .log("draining");
    }
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

  private boolean pulling() {
    return drainedTo == null && !unhealthy && !compilePoolGone;
  }

  private void requestWork() {
    if (!pulling() || requestOutstanding || held.size() >= settings.prefetch()) {
      return;
    }
    requestOutstanding = true;
    dispatcher.tell(new DispatcherProtocol.RequestWork(workerId, device.capabilities(), offerAdapter));
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
