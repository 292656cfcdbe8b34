package kernelfarm.worker;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.DeviceCapabilities;
import kernelfarm.protocol.DeviceRef;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Stats;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Timing;
import kernelfarm.protocol.Verdict;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Benchmark only: simulated devices that pull work from the real Dispatcher and answer every lease after a fixed
 * time with a made-up CORRECT verdict (a random speedup), so a benchmark measures the control plane and the
 * cluster, not the verifier. Nothing here compiles or runs a candidate; its verdicts say "fake" in their device and
 * summary. Each slot is one GPU: it holds one lease at a time and asks again once it has answered. The time is far
 * below a lease, so slots never renew.
 *
 * <p>The slots ask only once the Dispatcher has answered through {@code dispatcher}, since they ask only once (a
 * GpuWorker repeats its request on every tick; a benchmark's singleton never moves). Until a node's singleton proxy
 * has found the singleton (it looks once a second, so for up to a second after the node starts) it keeps only its
 * latest 1,000 messages, and a warm JVM's campaign sends 1,000 candidates in that second: asked at once, every
 * slot's request was pushed out, and kfarm bench dashboard waited at 0 verdicts for ever on its 3rd or 5th node.
 */
public final class BenchWorker {
  private BenchWorker() {}

  /**
   * The fake evaluation time of {@code kernelfarm.worker.bench}, when on. Refused (naming the key) unless the
   * benchmark turned bench mode on: a node that judges nothing must never join a real farm by a stray setting.
   */
  public static Optional<Duration> fakeEvaluation(Config config) {
    Config bench = config.getConfig("kernelfarm.worker.bench");
    Duration fake = bench.getDuration("fake-evaluation");
    if (fake.isZero()) {
      return Optional.empty();
    }
    if (fake.isNegative()) {
      throw new IllegalArgumentException("kernelfarm.worker.bench.fake-evaluation must be 0s (off) or positive, got "
          + fake);
    }
    if (!bench.getBoolean("mode")) {
      throw new IllegalArgumentException("kernelfarm.worker.bench.fake-evaluation: benchmark-only (it judges no "
          + "candidate), refused outside bench mode; remove it, or run kfarm bench scale-out --worker-processes");
    }
    return Optional.of(fake);
  }

  /** What the slots receive; the protocol's replies wrapped with the slot they answer. */
  public sealed interface Command {}

  private enum DispatcherAnswered implements Command { INSTANCE }

  private enum DispatcherSilent implements Command { INSTANCE }

  /** From a slot's child to this actor, never off the node: no serializer, and none checked for. */
  private record Leased(DispatcherProtocol.WorkOffer offer, int slot)
      implements Command, NoSerializationVerificationNeeded {}

  private record LatencyElapsed(DispatcherProtocol.WorkOffer offer, int slot) implements Command {}

  private record Acked(DispatcherProtocol.VerdictAck ack) implements Command {}

  /** The proxy looks for the singleton this often: an ask it dropped meanwhile is asked again as soon. */
  private static final Duration FIND_TIMEOUT = Duration.ofSeconds(1);

  /**
   * {@code slots} simulated devices named {@code <workerPrefix>-<slot>}; {@code onVerdict} runs on each report (a
   * counter).
   */
  public static Behavior<Command> create(ActorRef<DispatcherProtocol.Command> dispatcher, Duration latency,
      int slots, String workerPrefix, Runnable onVerdict) {
    DeviceCapabilities cpu = new DeviceCapabilities("fake", EnumSet.of(Backend.CPU), 0L, null);
    Behavior<Command> working = Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      // A child per slot, not a message adapter: an actor has one adapter per message class, so every offer
      // came back as the last slot's, which then asked again alone and the farm's concurrency decayed.
      List<ActorRef<DispatcherProtocol.WorkOffer>> offers = new ArrayList<>();
      ActorRef<Command> self = ctx.getSelf();
      for (int i = 0; i < slots; i++) {
        int slot = i;
        offers.add(ctx.spawn(Behaviors.<DispatcherProtocol.WorkOffer>receiveMessage(o -> {
          self.tell(new Leased(o, slot));
          return Behaviors.same();
        }), "slot-" + i));
      }
      ActorRef<DispatcherProtocol.VerdictAck> acks = ctx.messageAdapter(DispatcherProtocol.VerdictAck.class,
          Acked::new);
      for (int i = 0; i < slots; i++) {
        dispatcher.tell(new DispatcherProtocol.RequestWork(workerPrefix + "-" + i, cpu, offers.get(i)));
      }
      return Behaviors.receive(Command.class)
          .onMessage(Leased.class, j -> {
            timers.startSingleTimer(j.offer().leaseId(), new LatencyElapsed(j.offer(), j.slot()), latency);
            return Behaviors.same();
          })
          .onMessage(LatencyElapsed.class, o -> {
            dispatcher.tell(new DispatcherProtocol.ReportVerdict(o.offer().leaseId(), verdict(o.offer(), latency),
                acks));
            dispatcher.tell(new DispatcherProtocol.RequestWork(workerPrefix + "-" + o.slot(), cpu,
                offers.get(o.slot())));
            onVerdict.run();
            return Behaviors.same();
          })
          .onMessage(Acked.class, a -> Behaviors.same())
          .build();
    }));
    return Behaviors.setup(ctx -> findDispatcher(ctx, dispatcher, working));
  }

  /** Asks the Dispatcher for its status until it answers, then becomes {@code then}. */
  private static Behavior<Command> findDispatcher(ActorContext<Command> ctx,
      ActorRef<DispatcherProtocol.Command> dispatcher, Behavior<Command> then) {
    ctx.ask(DispatcherProtocol.FarmStatus.class, dispatcher, FIND_TIMEOUT, DispatcherProtocol.GetStatus::new,
        (status, failure) -> status != null ? DispatcherAnswered.INSTANCE : DispatcherSilent.INSTANCE);
    return Behaviors.receive(Command.class)
        .onMessageEquals(DispatcherSilent.INSTANCE, () -> findDispatcher(ctx, dispatcher, then))
        .onMessageEquals(DispatcherAnswered.INSTANCE, () -> then)
        .build();
  }

  private static Verdict verdict(DispatcherProtocol.WorkOffer offer, Duration latency) {
    double speedup = 0.5 + ThreadLocalRandom.current().nextDouble();
    Stats ref = new Stats(1.0, 1.0, 0.01, 0.99, 1.02, 100, null);
    Stats cand = new Stats(1.0 / speedup, 1.0 / speedup, 0.01, 0.99 / speedup, 1.02 / speedup, 100, null);
    return new Verdict(offer.candidate().id(), offer.problem().id(), Status.CORRECT, "timing",
        Map.of("timing", latency.toMillis() * 1.0), null, new Timing("fake", ref, cand, speedup, "measured"),
        List.of(), null, null, new DeviceRef("fake", 0, "fake"), "fake verdict", List.of());
  }
}
