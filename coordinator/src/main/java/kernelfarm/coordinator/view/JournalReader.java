package kernelfarm.coordinator.view;

import java.util.Optional;
import java.util.concurrent.CompletionStage;
import kernelfarm.coordinator.problem.ProblemCoordinator;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Reads one event of a problem back from the journal by its sequence number: where a round's prompt, answer,
 * reasoning, source and verdict come from on demand. The read tables keep only the sequence numbers, so the bulky
 * text is stored once (measured: copying it into the tables cost the control plane a third of its rounds/s).
 */
public final class JournalReader {
  private final ActorSystem<?> system;
  private final JdbcReadJournal journal;

  public JournalReader(ActorSystem<?> system) {
    this.system = system;
    this.journal = PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class,
        JdbcReadJournal.Identifier());
  }

  /** The event at {@code seq} of a problem's journal; empty if there is none. */
  public CompletionStage<Optional<Object>> problemEvent(String campaignId, String problemId, long seq) {
    String pid = PersistenceId.of(ProblemCoordinator.TYPE_KEY.name(), ProblemCoordinator.entityId(campaignId,
        problemId)).id();
    return journal.currentEventsByPersistenceId(pid, seq, seq).map(EventEnvelope::event)
        .runWith(Sink.headOption(), system);
  }
}
