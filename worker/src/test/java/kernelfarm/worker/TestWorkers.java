package kernelfarm.worker;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.worker.sandbox.HarnessLauncher;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/** What the worker's actor tests share: the real harness on the cpu backend, and a count of its processes. */
final class TestWorkers {
  private TestWorkers() {}

  /** Two spares per device and one compile slot: few processes, so a count that is off by one shows. */
  static Config config() {
    return config("target/kfarm-test-work");
  }

  /** With a work folder of the test's own, for a test that breaks it. */
  static Config config(String workDir) {
    return ConfigFactory.parseString("kernelfarm.worker.work-dir = \"" + workDir + "\"").withFallback(
        ConfigFactory.parseString("""
        kernelfarm.worker {
          devices = cpu
          work-dir = "target/kfarm-test-work"
          compile-slots = 1
          warm-evaluators = 2
          limits.address-space-bytes = 8589934592
          # Retries in tenths of a second, so a device goes out of service and back within a test.
          health-retry-min = 200ms
          health-retry-max = 1s
        }
        """)).withFallback(ConfigFactory.load()).resolve();
  }

  static WorkerSettings settings(Config config) {
    return WorkerSettings.from(config).withDevices(1);
  }

  static HarnessLauncher launcher(ActorSystem<?> system, WorkerSettings settings) {
    return HarnessLauncher.create(settings,
        JacksonObjectMapperProvider.get(system).getOrCreate("jackson-json", Optional.empty()));
  }

  /**
   * Harness interpreters this JVM started that are still running. Counted as Python processes running the
   * harness module, so a sandbox's own processes (bwrap and its namespace init) are not counted twice, and a
   * process nobody owns any more still counts: it stays this JVM's descendant until it is killed.
   */
  static long harnessProcesses() {
    return ProcessHandle.current().descendants()
        .filter(ProcessHandle::isAlive)
        .filter(p -> p.info().command().map(c -> c.contains("python")).orElse(false))
        .filter(p -> p.info().arguments().map(a -> List.of(a).contains("harness")).orElse(false))
        .count();
  }

  /**
   * A stand-in Dispatcher that sends each {@link DispatcherProtocol.DeviceReport} to {@code reports} and every
   * other message to {@code protocol}: a worker reports on every state change and tick, and a test of its lease
   * protocol must see that protocol's messages in order, with nothing in between.
   */
  static ActorRef<DispatcherProtocol.Command> dispatcher(ActorTestKit kit,
      TestProbe<DispatcherProtocol.Command> protocol, TestProbe<DispatcherProtocol.DeviceReport> reports) {
    return kit.spawn(Behaviors.receive(DispatcherProtocol.Command.class)
        .onMessage(DispatcherProtocol.DeviceReport.class, report -> {
          reports.getRef().tell(report);
          return Behaviors.same();
        })
        .onAnyMessage(message -> {
          protocol.getRef().tell(message);
          return Behaviors.same();
        })
        .build());
  }

  /** The same, with the reports dropped: for tests that do not look at them. */
  static ActorRef<DispatcherProtocol.Command> dispatcher(ActorTestKit kit,
      TestProbe<DispatcherProtocol.Command> protocol) {
    return dispatcher(kit, protocol, kit.createTestProbe());
  }

  /** Fails the wrapped actor when it is sent a message {@code trigger} accepts, as a bug in a handler would. */
  static <T> Behavior<T> failingOn(Class<T> type, Predicate<T> trigger, Behavior<T> actor) {
    return Behaviors.intercept(() -> new BehaviorInterceptor<T, T>(type) {
      @Override
      public Behavior<T> aroundReceive(TypedActorContext<T> ctx, T message, ReceiveTarget<T> target) {
        if (trigger.test(message)) {
          throw new IllegalStateException("a failure injected by the test");
        }
        return target.apply(ctx, message);
      }
    }, actor);
  }
}
