package kernelfarm.coordinator.campaign;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BackoffSupervisorStrategy;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/** How the coordinator's event-sourced entities (Campaign, ProblemCoordinator) are sharded and supervised. */
public final class CoordinatorEntities {
  private CoordinatorEntities() {}

  /**
   * The tags of every Campaign and ProblemCoordinator event: one per entity (by its persistence id), so one entity's
   * events keep their order within a tag, and the read side runs one projection per tag. Fixed: a projection's
   * stored offset belongs to its tag, so changing this list means rebuilding the read tables.
   */
  public static final List<String> TAGS = List.of("kfarm-0", "kfarm-1", "kfarm-2", "kfarm-3");

  /** The tag of every event of the entity with this persistence id. */
  public static String tagFor(String persistenceId) {
    return TAGS.get(Math.floorMod(persistenceId.hashCode(), TAGS.size()));
  }

  /** A store hiccup must not lose an entity: it restarts and recovers from the journal. */
  public static final BackoffSupervisorStrategy ON_PERSIST_FAILURE =
      SupervisorStrategy.restartWithBackoff(Duration.ofMillis(500), Duration.ofSeconds(30), 0.2);

  /**
   * Registers an entity type on nodes with role {@code coordinator}. Remembered, so a node or whole-cluster
   * restart brings running entities back without being asked, and never passivated while they wait on slow models.
   */
  public static <C> void init(ActorSystem<?> system, EntityTypeKey<C> key, Function<String, Behavior<C>> create) {
    ClusterSharding.get(system).init(Entity.of(key, ec -> create.apply(ec.getEntityId()))
        .withRole("coordinator")
        .withSettings(ClusterShardingSettings.create(system).withRole("coordinator").withRememberEntities(true)));
  }
}
