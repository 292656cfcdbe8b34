package kernelfarm.coordinator.view;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import kernelfarm.coordinator.campaign.CoordinatorEntities;
import kernelfarm.protocol.CborSerializable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Keeps the read tables for one tag: reads the tag's stored offset, follows {@code eventsByTag} from there, and
 * writes each batch with its new offset in one transaction ({@link ViewWriter}). One instance per tag of
 * {@link CoordinatorEntities#TAGS}, run as a ShardedDaemonProcess on coordinator nodes, so each tag has exactly one
 * writer in the cluster and moves to another node when its node leaves. A database error restarts the stream with
 * backoff from the stored offset: nothing is lost and nothing applied twice.
 *
 * <p>Cost: the tables trail the journal by the read journal's refresh interval plus one batch window (about a
 * second by default), so a campaign submitted a moment ago may not be listed yet.
 */
public final class ViewProjection {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ViewProjection.class);

  private ViewProjection() {}

  public sealed interface Command extends CborSerializable {}

  /** Sent by the ShardedDaemonProcess when the instance must stop (rebalance, shutdown). */
  public enum Stop implements Command { INSTANCE }

  /**
   * The {@code kernelfarm.coordinator.view} block.
   *
   * @param batchSize the most events written in one transaction
   * @param batchWindow how long a batch waits to fill
   * @param minBackoff first wait after a failure; doubles up to {@code maxBackoff}
   */
  public record Settings(int batchSize, Duration batchWindow, Duration minBackoff, Duration maxBackoff) {
    public static Settings from(com.typesafe.config.Config config) {
      com.typesafe.config.Config c = config.getConfig("kernelfarm.coordinator.view");
      Settings s = new Settings(c.getInt("batch-size"), c.getDuration("batch-window"), c.getDuration("min-backoff"),
          c.getDuration("max-backoff"));
      if (s.batchSize < 1) {
        throw new IllegalArgumentException("kernelfarm.coordinator.view.batch-size: must be at least 1, got "
            + s.batchSize + "; write e.g. 200");
      }
      return s;
    }
  }

  /** Starts one projection per tag on this node's share of the cluster's coordinator nodes. */
  public static void init(ActorSystem<?> system, ViewDatabase db, Settings settings) {
    ViewWriter writer = new ViewWriter(db, ViewQueries.json(system));
    List<String> tags = CoordinatorEntities.TAGS;
    ShardedDaemonProcess.get(system).init(Command.class, "kfarm-view", tags.size(),
        i -> create(tags.get(i), writer, settings),
        ShardedDaemonProcessSettings.create(system)
            .withShardingSettings(ClusterShardingSettings.create(system).withRole("coordinator")),
        java.util.Optional.of(Stop.INSTANCE));
  }

  static Behavior<Command> create(String tag, ViewWriter writer, Settings settings) {
    return Behaviors.setup(ctx -> {
      ActorSystem<?> system = ctx.getSystem();
      Executor blocking = system.dispatchers().lookup(DispatcherSelector.fromConfig("kernelfarm.blocking-dispatcher"));
      JdbcReadJournal journal = PersistenceQuery.get(system)
          .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
      RestartSettings restart = RestartSettings.create(settings.minBackoff(), settings.maxBackoff(), 0.2);
      Source<List<EventEnvelope>, ?> batches = RestartSource.withBackoff(restart, () ->
          Source.completionStageSource(CompletableFuture.supplyAsync(() -> {
                try {
                  return journal.eventsByTag(tag, Offset.sequence(writer.offset(tag)));
                } catch (SQLException e) {
                  throw new CompletionException(e);
                }
              }, blocking))
              .groupedWithin(settings.batchSize(), settings.batchWindow())
              .mapAsync(1, batch -> CompletableFuture.supplyAsync(() -> {
                try {
                  writer.apply(tag, batch);
                  return batch;
                } catch (SQLException | RuntimeException e) {
                  // Every failure is said, whatever its kind: a tag that stops moving must never be silent.
                  LOG.atWarn().addKeyValue("tag", tag).addKeyValue("error", String.valueOf(e))
                      .log("read side write failed; the projection restarts from its stored offset");
                  throw new CompletionException(e);
                }
              }, blocking)));
      UniqueKillSwitch running = batches.viaMat(KillSwitches.single(), Keep.right())
          .toMat(Sink.ignore(), Keep.left()).run(system);
      return Behaviors.receive(Command.class)
          .onMessage(Stop.class, stop -> Behaviors.stopped())
          .onSignal(PostStop.class, signal -> {
            running.shutdown();
            return Behaviors.same();
          })
          .build();
    });
  }
}
