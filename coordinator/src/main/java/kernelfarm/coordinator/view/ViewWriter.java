package kernelfarm.coordinator.view;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import kernelfarm.coordinator.branch.RoundAnswer;
import kernelfarm.coordinator.campaign.Campaign;
import kernelfarm.coordinator.problem.ProblemCoordinator;
import kernelfarm.coordinator.problem.ProblemTally;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Verdict;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Sequence;

/**
 * Applies a batch of tagged events to the read tables and stores the tag's offset in the same transaction, so a
 * projection that stops anywhere resumes without losing or repeating an event. Each row has one writer: a
 * campaign's row is written from its Campaign's events, a problem's rows from its ProblemCoordinator's, and one
 * entity's events all carry one tag. Blocking: runs on the blocking dispatcher.
 */
final class ViewWriter {
  private final DataSource db;
  private final ObjectMapper json;

  ViewWriter(ViewDatabase db, ObjectMapper json) {
    this.db = db.dataSource();
    this.json = json;
  }

  /** The journal ordering this tag has applied; 0 before its first batch. */
  long offset(String tag) throws SQLException {
    try (Connection c = db.getConnection();
        PreparedStatement s = c.prepareStatement("SELECT seq_offset FROM kfarm_view_offsets WHERE tag = ?")) {
      s.setString(1, tag);
      try (ResultSet r = s.executeQuery()) {
        return r.next() ? r.getLong(1) : 0L;
      }
    }
  }

  /** Applies {@code batch} (in journal order) and moves the tag's offset past it, atomically. */
  void apply(String tag, List<EventEnvelope> batch) throws SQLException {
    if (batch.isEmpty()) {
      return;
    }
    try (Connection c = db.getConnection()) {
      c.setAutoCommit(false);
      try {
        Map<String, ProblemTally> tallies = new HashMap<>();
        long last = 0;
        for (EventEnvelope envelope : batch) {
          applyOne(c, envelope, tallies);
          last = ((Sequence) envelope.offset()).value();
        }
        for (ProblemTally t : tallies.values()) {
          writeProblem(c, t);
        }
        int updated = update(c, "UPDATE kfarm_view_offsets SET seq_offset = ?, updated_at = ? WHERE tag = ?",
            last, now(), tag);
        if (updated == 0) {
          update(c, "INSERT INTO kfarm_view_offsets (seq_offset, updated_at, tag) VALUES (?, ?, ?)", last, now(), tag);
        }
        c.commit();
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    }
  }

  private void applyOne(Connection c, EventEnvelope envelope, Map<String, ProblemTally> tallies)
      throws SQLException {
    String persistenceId = envelope.persistenceId();
    Object event = envelope.event();
    String entityId = persistenceId.substring(persistenceId.indexOf('|') + 1);
    if (event instanceof Campaign.Submitted e) {
      update(c, "DELETE FROM kfarm_campaigns WHERE campaign_id = ?", entityId);
      update(c, "INSERT INTO kfarm_campaigns (campaign_id, name, state, problem_count, problems_done, submitted_at, "
              + "spec_json, problem_ids_json) VALUES (?, ?, ?, ?, 0, ?, ?, ?)", entityId, e.spec().name(),
          CampaignState.RUNNING.name(), e.problems().size(), time(e.at()), write(e.spec()),
          write(e.problems().stream().map(Problem::id).toList()));
    } else if (event instanceof Campaign.ProblemCompleted) {
      update(c, "UPDATE kfarm_campaigns SET problems_done = problems_done + 1 WHERE campaign_id = ?", entityId);
    } else if (event instanceof Campaign.Cancelled e) {
      update(c, "UPDATE kfarm_campaigns SET cancelled_at = ?, state = ? WHERE campaign_id = ?", time(e.at()),
          CampaignState.CANCELLING.name(), entityId);
    } else if (event instanceof Campaign.Completed e) {
      update(c, "UPDATE kfarm_campaigns SET finished_at = ?, state = CASE WHEN cancelled_at IS NULL THEN ? ELSE ? END "
          + "WHERE campaign_id = ?", time(e.at()), CampaignState.FINISHED.name(), CampaignState.CANCELLED.name(),
          entityId);
    } else if (event instanceof ProblemCoordinator.Event e) {
      applyProblem(c, e, envelope.sequenceNr(), tallies, entityId);
    }
  }

  /** {@code seq}: the event's sequence number in its entity's journal, where the bulky text is read back from. */
  private void applyProblem(Connection c, ProblemCoordinator.Event event, long seq,
      Map<String, ProblemTally> tallies, String entityId) throws SQLException {
    if (event instanceof ProblemCoordinator.ProblemStarted e) {
      tallies.put(entityId, ProblemTally.empty().started(e.campaignId(), e.problem(),
          ProblemCoordinator.roundsPlanned(e.spec()), e.at()));
      return;
    }
    ProblemTally tally = tallies.get(entityId);
    if (tally == null) {
      tally = readTally(c, entityId);
      if (tally == null) {
        throw new IllegalStateException("read side: event for problem " + entityId + " before its ProblemStarted");
      }
    }
    String campaign = tally.campaignId();
    String problem = tally.problemId();
    if (event instanceof ProblemCoordinator.RoundAnswered e) {
      RoundAnswer a = e.answer();
      // Each event is applied once (the offset commits with the rows), so the round is new.
      update(c, "INSERT INTO kfarm_rounds (campaign_id, problem_id, branch, round, answered_at, endpoint, "
              + "candidate_id, prompt_tokens, completion_tokens, cost_usd, latency_ms, finish_reason, answered_seq) "
              + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          campaign, problem, e.branch(), e.round(), time(e.at()), truncate(a.endpoint(), 255),
          a.candidate() == null ? null : a.candidate().id().value(), a.promptTokens(), a.completionTokens(),
          a.costUsd(), a.latencyMillis(), truncate(a.finishReason(), 64), seq);
      tally = tally.answered(a);
    } else if (event instanceof ProblemCoordinator.RoundJudged e) {
      Verdict v = e.verdict();
      Double speedup = v.timing() == null ? null : v.timing().speedup();
      update(c, "UPDATE kfarm_rounds SET status = ?, speedup = ?, summary = ?, judged_at = ?, judged_seq = ? "
              + "WHERE campaign_id = ? AND problem_id = ? AND branch = ? AND round = ?", v.status().name(), speedup,
          truncate(v.summary(), 2000), time(e.at()), seq, campaign, problem, e.branch(), e.round());
      // One verdict per candidate: several rounds may propose one candidate, and the farm judges it once.
      String candidate = v.candidateId().value();
      if (update(c, "UPDATE kfarm_verdicts SET status = ?, speedup = ?, device = ?, judged_at = ? "
              + "WHERE campaign_id = ? AND problem_id = ? AND candidate_id = ?", v.status().name(), speedup,
          device(v), time(e.at()), campaign, problem, candidate) == 0) {
        update(c, "INSERT INTO kfarm_verdicts (campaign_id, problem_id, candidate_id, status, speedup, device, "
                + "judged_at, branch, round) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", campaign, problem, candidate,
            v.status().name(), speedup, device(v), time(e.at()), e.branch(), e.round());
      }
      // The best source stays in the journal: reports read it back with the round (CampaignService.results).
      tally = tally.judged(e.branch(), e.round(), v, null, e.at());
    } else if (event instanceof ProblemCoordinator.BranchRestarted e) {
      update(c, "UPDATE kfarm_rounds SET restarted_from = ? WHERE campaign_id = ? AND problem_id = ? AND branch = ? "
          + "AND round = ?", e.fromBranch() + "/" + e.fromRound(), campaign, problem, e.branch(), e.afterRound());
    } else if (event instanceof ProblemCoordinator.ProblemFinished e) {
      tally = tally.finished(e.reason(), e.at());
    }
    tallies.put(entityId, tally);
  }

  private ProblemTally readTally(Connection c, String entityId) throws SQLException {
    int sep = entityId.indexOf('~');
    try (PreparedStatement s = c.prepareStatement(
        "SELECT tally_json FROM kfarm_problems WHERE campaign_id = ? AND problem_id = ?")) {
      bind(s, entityId.substring(0, sep), entityId.substring(sep + 1));
      try (ResultSet r = s.executeQuery()) {
        return r.next() ? read(r.getString(1)) : null;
      }
    }
  }

  private void writeProblem(Connection c, ProblemTally t) throws SQLException {
    Verdict best = t.best();
    String state = !t.finished() ? ProblemState.RUNNING.name()
        : ProblemCoordinator.CANCELLED.equals(t.finishReason()) ? ProblemState.CANCELLED.name()
        : ProblemState.FINISHED.name();
    update(c, "DELETE FROM kfarm_problems WHERE campaign_id = ? AND problem_id = ?", t.campaignId(), t.problemId());
    update(c, "INSERT INTO kfarm_problems (campaign_id, problem_id, name, level, state, finish_reason, best_status, "
            + "best_speedup, best_candidate, rounds_answered, rounds_judged, gpu_seconds, prompt_tokens, "
            + "completion_tokens, cost_usd, started_at, finished_at, tally_json) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        t.campaignId(), t.problemId(), t.name(), t.level(), state, t.finishReason(),
        best == null ? null : best.status().name(), best == null ? null : ProblemTally.speedup(best),
        best == null ? null : best.candidateId().value(), t.answered(), t.judged(), t.gpuSeconds(),
        t.promptTokens(), t.completionTokens(), t.costUsd(), time(t.startedAt()), time(t.finishedAt()), write(t));
  }

  private static int update(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql)) {
      bind(s, args);
      return s.executeUpdate();
    }
  }

  static void bind(PreparedStatement s, Object... args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      Object a = args[i];
      if (a == null) {
        s.setNull(i + 1, Types.NULL);
      } else if (a instanceof OffsetDateTime t) {
        s.setObject(i + 1, t);
      } else {
        s.setObject(i + 1, a);
      }
    }
  }

  private static OffsetDateTime time(Instant at) {
    return at == null ? null : at.atOffset(ZoneOffset.UTC);
  }

  private static OffsetDateTime now() {
    return OffsetDateTime.now(ZoneOffset.UTC);
  }

  private static String device(Verdict v) {
    return v.device() == null ? null : truncate(v.device().toString(), 255);
  }

  private static String truncate(String s, int max) {
    return s == null || s.length() <= max ? s : s.substring(0, max - 1) + "…";
  }

  private String write(Object value) {
    try {
      return json.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("read side: cannot write " + value.getClass().getSimpleName() + " as JSON", e);
    }
  }

  private ProblemTally read(String text) {
    try {
      return json.readValue(text, ProblemTally.class);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("read side: unreadable tally_json: " + e.getOriginalMessage(), e);
    }
  }
}
