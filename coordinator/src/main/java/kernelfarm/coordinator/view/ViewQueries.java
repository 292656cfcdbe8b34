package kernelfarm.coordinator.view;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.coordinator.campaign.CampaignSummary;
import kernelfarm.coordinator.campaign.ProblemResult;
import kernelfarm.coordinator.problem.ProblemTally;
import kernelfarm.protocol.Verdict;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/**
 * What the read tables answer: pages of campaigns and problems, one problem's rounds, one round or candidate in
 * full. Every list is a page (offset, limit, total); bulky text comes only with a single round or candidate.
 * Blocking JDBC: the caller runs these on the blocking dispatcher.
 */
public final class ViewQueries {
  private final DataSource db;
  private final ObjectMapper json;

  public ViewQueries(ViewDatabase db, ObjectMapper json) {
    this.db = db.dataSource();
    this.json = json;
  }

  /** The JSON mapper of the cluster's Jackson setup, which HTTP and the read tables share. */
  public static ObjectMapper json(ActorSystem<?> system) {
    return JacksonObjectMapperProvider.get(system).getOrCreate("jackson-json", Optional.empty());
  }

  /** One page of a longer list. */
  public record Page<T>(List<T> items, int offset, int limit, long total) {
    public Page {
      items = List.copyOf(items);
    }
  }

  /** A campaign as listed. */
  public record CampaignRow(String id, String name, CampaignState state, int problems, int problemsDone,
      Instant submittedAt, Instant cancelledAt, Instant finishedAt) {}

  /** A campaign with its spec, its problem ids and its figures as they stand. */
  public record CampaignDetail(CampaignRow campaign, CampaignSpec spec, List<String> problemIds,
      int problemsStarted, CampaignSummary summary) {}

  /**
   * A problem's summary: its best candidate by id (source and verdict fetched on their own), what the search
   * spent, and the speedup-over-time curve.
   */
  public record ProblemRow(String campaignId, String problemId, String name, int level, ProblemState state,
      String finishReason, String bestStatus, Double bestSpeedup, String bestCandidate, int bestBranch,
      int bestRound, int roundsPlanned, int roundsAnswered, int roundsJudged, Map<String, Integer> statusCounts,
      double secondsToBest, long tokensToBest, List<ProblemResult.CurvePoint> curve, double gpuSeconds,
      long promptTokens, long completionTokens, double costUsd, Instant startedAt, Instant finishedAt) {}

  /** One round's summary columns. {@code status} is null while its candidate is being verified or had no code. */
  public record RoundRow(int branch, int round, Instant answeredAt, String endpoint, String candidateId,
      int promptTokens, int completionTokens, double costUsd, long latencyMillis, String finishReason, String status,
      Double speedup, String summary, Instant judgedAt, String restartedFrom) {}

  /** One round in full: what was asked, answered, reasoned, proposed and judged (read back from the journal). */
  public record RoundDetail(RoundRow round, String prompt, String content, String reasoning, String source,
      Verdict verdict) {}

  /** A candidate of a campaign's problem: its source, its verdict, and the rounds that proposed it ("b/r"). */
  public record CandidateDetail(String campaignId, String problemId, String candidateId, String status,
      Double speedup, Instant judgedAt, String source, Verdict verdict, List<String> rounds) {}

  /** A problem with a page of its rounds, ordered by branch then round. */
  public record ProblemDetail(ProblemRow problem, Page<RoundRow> rounds) {}

  /** The campaign's problems ranked by best correct speedup (none last), with the campaign's figures. */
  public record Leaderboard(String campaignId, CampaignSummary summary, Page<ProblemRow> ranked) {}

  private static final String CAMPAIGN_COLUMNS =
      "campaign_id, name, state, problem_count, problems_done, submitted_at, cancelled_at, finished_at";

  public Page<CampaignRow> campaigns(int offset, int limit) throws SQLException {
    try (Connection c = db.getConnection()) {
      List<CampaignRow> rows = new ArrayList<>();
      try (PreparedStatement s = c.prepareStatement("SELECT " + CAMPAIGN_COLUMNS + " FROM kfarm_campaigns "
          + "ORDER BY submitted_at DESC, campaign_id LIMIT ? OFFSET ?")) {
        ViewWriter.bind(s, limit, offset);
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            rows.add(campaignRow(r));
          }
        }
      }
      return new Page<>(rows, offset, limit, count(c, "SELECT COUNT(*) FROM kfarm_campaigns"));
    }
  }

  public Optional<CampaignRow> campaignRow(String campaignId) throws SQLException {
    try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(
        "SELECT " + CAMPAIGN_COLUMNS + " FROM kfarm_campaigns WHERE campaign_id = ?")) {
      ViewWriter.bind(s, campaignId);
      try (ResultSet r = s.executeQuery()) {
        return r.next() ? Optional.of(campaignRow(r)) : Optional.empty();
      }
    }
  }

  public Optional<CampaignDetail> campaign(String campaignId) throws SQLException {
    try (Connection c = db.getConnection()) {
      CampaignRow row;
      String spec;
      String ids;
      try (PreparedStatement s = c.prepareStatement("SELECT " + CAMPAIGN_COLUMNS + ", spec_json, problem_ids_json "
          + "FROM kfarm_campaigns WHERE campaign_id = ?")) {
        ViewWriter.bind(s, campaignId);
        try (ResultSet r = s.executeQuery()) {
          if (!r.next()) {
            return Optional.empty();
          }
          row = campaignRow(r);
          spec = r.getString("spec_json");
          ids = r.getString("problem_ids_json");
        }
      }
      List<ProblemResult> results = tallies(c, campaignId).stream().map(t -> t.result(Instant.now())).toList();
      return Optional.of(new CampaignDetail(row, read(spec, new TypeReference<CampaignSpec>() {}),
          read(ids, new TypeReference<List<String>>() {}), results.size(), CampaignSummary.of(results)));
    }
  }

  public Page<ProblemRow> problems(String campaignId, int offset, int limit) throws SQLException {
    try (Connection c = db.getConnection()) {
      List<ProblemRow> rows = new ArrayList<>();
      try (PreparedStatement s = c.prepareStatement("SELECT state, tally_json FROM kfarm_problems "
          + "WHERE campaign_id = ? ORDER BY problem_id LIMIT ? OFFSET ?")) {
        ViewWriter.bind(s, campaignId, limit, offset);
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            rows.add(problemRow(ProblemState.valueOf(r.getString(1)), readTally(r.getString(2))));
          }
        }
      }
      return new Page<>(rows, offset, limit, countProblems(c, campaignId));
    }
  }

  public Optional<ProblemRow> problem(String campaignId, String problemId) throws SQLException {
    try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(
        "SELECT state, tally_json FROM kfarm_problems WHERE campaign_id = ? AND problem_id = ?")) {
      ViewWriter.bind(s, campaignId, problemId);
      try (ResultSet r = s.executeQuery()) {
        return r.next() ? Optional.of(problemRow(ProblemState.valueOf(r.getString(1)), readTally(r.getString(2))))
            : Optional.empty();
      }
    }
  }

  private static final String ROUND_COLUMNS = "branch, round, answered_at, endpoint, candidate_id, prompt_tokens, "
      + "completion_tokens, cost_usd, latency_ms, finish_reason, status, speedup, summary, judged_at, restarted_from";

  public Page<RoundRow> rounds(String campaignId, String problemId, int offset, int limit) throws SQLException {
    try (Connection c = db.getConnection()) {
      List<RoundRow> rows = new ArrayList<>();
      try (PreparedStatement s = c.prepareStatement("SELECT " + ROUND_COLUMNS + " FROM kfarm_rounds "
          + "WHERE campaign_id = ? AND problem_id = ? ORDER BY branch, round LIMIT ? OFFSET ?")) {
        ViewWriter.bind(s, campaignId, problemId, limit, offset);
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            rows.add(roundRow(r));
          }
        }
      }
      long total;
      try (PreparedStatement s = c.prepareStatement(
          "SELECT COUNT(*) FROM kfarm_rounds WHERE campaign_id = ? AND problem_id = ?")) {
        ViewWriter.bind(s, campaignId, problemId);
        try (ResultSet r = s.executeQuery()) {
          r.next();
          total = r.getLong(1);
        }
      }
      return new Page<>(rows, offset, limit, total);
    }
  }

  /** Where a round's full text lives in its problem's journal; {@code judgedSeq} null until it is judged. */
  public record RoundRef(RoundRow row, long answeredSeq, Long judgedSeq) {}

  public Optional<RoundRef> round(String campaignId, String problemId, int branch, int round) throws SQLException {
    try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement("SELECT " + ROUND_COLUMNS
        + ", answered_seq, judged_seq FROM kfarm_rounds "
        + "WHERE campaign_id = ? AND problem_id = ? AND branch = ? AND round = ?")) {
      ViewWriter.bind(s, campaignId, problemId, branch, round);
      try (ResultSet r = s.executeQuery()) {
        if (!r.next()) {
          return Optional.empty();
        }
        return Optional.of(new RoundRef(roundRow(r), r.getLong("answered_seq"), (Long) r.getObject("judged_seq",
            Long.class)));
      }
    }
  }

  /**
   * A candidate of a campaign: its problem, its verdict's summary, the rounds that proposed it and the round whose
   * events hold its source and verdict.
   */
  public record CandidateRef(String campaignId, String problemId, String candidateId, String status,
      Double speedup, Instant judgedAt, List<String> rounds, RoundRef round) {}

  public Optional<CandidateRef> candidate(String campaignId, String candidateId) throws SQLException {
    String problemId = null;
    int branch = -1;
    int round = -1;
    List<String> rounds = new ArrayList<>();
    String status = null;
    Double speedup = null;
    Instant judgedAt = null;
    try (Connection c = db.getConnection()) {
      try (PreparedStatement s = c.prepareStatement("SELECT problem_id, branch, round FROM kfarm_rounds "
          + "WHERE campaign_id = ? AND candidate_id = ? ORDER BY problem_id, branch, round")) {
        ViewWriter.bind(s, campaignId, candidateId);
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            if (problemId == null) {
              problemId = r.getString(1);
              branch = r.getInt(2);
              round = r.getInt(3);
            }
            rounds.add(r.getInt(2) + "/" + r.getInt(3));
          }
        }
      }
      if (problemId == null) {
        return Optional.empty();
      }
      try (PreparedStatement s = c.prepareStatement("SELECT status, speedup, judged_at, branch, round "
          + "FROM kfarm_verdicts WHERE campaign_id = ? AND problem_id = ? AND candidate_id = ?")) {
        ViewWriter.bind(s, campaignId, problemId, candidateId);
        try (ResultSet r = s.executeQuery()) {
          if (r.next()) {
            status = r.getString(1);
            speedup = (Double) r.getObject(2);
            judgedAt = instant(r, 3);
            branch = r.getInt(4);
            round = r.getInt(5);
          }
        }
      }
    }
    RoundRef ref = round(campaignId, problemId, branch, round).orElseThrow();
    return Optional.of(new CandidateRef(campaignId, problemId, candidateId, status, speedup, judgedAt, rounds, ref));
  }

  /** Problems ranked by best correct speedup; problems without a correct candidate follow, by id. */
  public Optional<Leaderboard> leaderboard(String campaignId, int offset, int limit) throws SQLException {
    try (Connection c = db.getConnection()) {
      if (!exists(c, campaignId)) {
        return Optional.empty();
      }
      List<ProblemRow> all = new ArrayList<>();
      try (PreparedStatement s = c.prepareStatement(
          "SELECT state, tally_json FROM kfarm_problems WHERE campaign_id = ?")) {
        ViewWriter.bind(s, campaignId);
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            all.add(problemRow(ProblemState.valueOf(r.getString(1)), readTally(r.getString(2))));
          }
        }
      }
      List<ProblemResult> results = tallies(c, campaignId).stream().map(t -> t.result(Instant.now())).toList();
      all.sort(Comparator.comparing((ProblemRow p) -> p.bestSpeedup() == null ? Double.NEGATIVE_INFINITY
          : p.bestSpeedup()).reversed().thenComparing(ProblemRow::problemId));
      List<ProblemRow> page = all.subList(Math.min(offset, all.size()), Math.min(offset + limit, all.size()));
      return Optional.of(new Leaderboard(campaignId, CampaignSummary.of(results),
          new Page<>(page, offset, limit, all.size())));
    }
  }

  /** A problem's tally and the journal sequence number of its best round's answer (null without a best). */
  public record TallyRef(ProblemTally tally, Long bestAnsweredSeq) {}

  /** The tallies of a campaign's problems that have started, by problem id; empty before any is projected. */
  public List<TallyRef> results(String campaignId) throws SQLException {
    try (Connection c = db.getConnection()) {
      List<TallyRef> out = new ArrayList<>();
      for (ProblemTally t : tallies(c, campaignId)) {
        Long seq = null;
        if (t.best() != null) {
          try (PreparedStatement s = c.prepareStatement("SELECT answered_seq FROM kfarm_rounds "
              + "WHERE campaign_id = ? AND problem_id = ? AND branch = ? AND round = ?")) {
            ViewWriter.bind(s, campaignId, t.problemId(), t.bestBranch(), t.bestRound());
            try (ResultSet r = s.executeQuery()) {
              seq = r.next() ? r.getLong(1) : null;
            }
          }
        }
        out.add(new TallyRef(t, seq));
      }
      out.sort(Comparator.comparing(ref -> ref.tally().problemId()));
      return out;
    }
  }

  /** A problem's best speedup so far by each rule set; null where no candidate is correct under it. */
  public record BestSpeedup(String campaignId, String problemId, Double strict, Double kernelbench) {}

  /** Every unfinished campaign, newest first, then the newest finished ones: {@code limit} in all. */
  public List<CampaignRow> campaignsShown(int limit) throws SQLException {
    try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement("SELECT " + CAMPAIGN_COLUMNS
        + " FROM kfarm_campaigns ORDER BY CASE WHEN finished_at IS NULL THEN 0 ELSE 1 END, submitted_at DESC, "
        + "campaign_id LIMIT ?")) {
      ViewWriter.bind(s, limit);
      List<CampaignRow> rows = new ArrayList<>();
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          rows.add(campaignRow(r));
        }
      }
      return rows;
    }
  }

  /** Each problem of the campaign with its best speedups, by problem id. */
  public List<BestSpeedup> bestSpeedups(String campaignId) throws SQLException {
    try (Connection c = db.getConnection()) {
      return tallies(c, campaignId).stream()
          .map(t -> new BestSpeedup(t.campaignId(), t.problemId(), t.result(Instant.now()).bestSpeedup(),
              t.kernelbenchBest()))
          .sorted(Comparator.comparing(BestSpeedup::problemId)).toList();
    }
  }

  /** How many campaigns are in each state; every state present, 0 where none is. */
  public Map<CampaignState, Long> campaignStates() throws SQLException {
    return countByState(CampaignState.class, "kfarm_campaigns");
  }

  /** How many problems are in each state, over all campaigns; every state present. */
  public Map<ProblemState, Long> problemStates() throws SQLException {
    return countByState(ProblemState.class, "kfarm_problems");
  }

  private <S extends Enum<S>> Map<S, Long> countByState(Class<S> states, String table) throws SQLException {
    Map<S, Long> out = new java.util.EnumMap<>(states);
    for (S s : states.getEnumConstants()) {
      out.put(s, 0L);
    }
    try (Connection c = db.getConnection(); PreparedStatement s = c.prepareStatement(
        "SELECT state, COUNT(*) FROM " + table + " GROUP BY state"); ResultSet r = s.executeQuery()) {
      while (r.next()) {
        out.put(Enum.valueOf(states, r.getString(1)), r.getLong(2));
      }
    }
    return out;
  }

  private List<ProblemTally> tallies(Connection c, String campaignId) throws SQLException {
    List<ProblemTally> out = new ArrayList<>();
    try (PreparedStatement s = c.prepareStatement("SELECT tally_json FROM kfarm_problems WHERE campaign_id = ?")) {
      ViewWriter.bind(s, campaignId);
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          out.add(readTally(r.getString(1)));
        }
      }
    }
    return out;
  }

  private static boolean exists(Connection c, String campaignId) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT 1 FROM kfarm_campaigns WHERE campaign_id = ?")) {
      ViewWriter.bind(s, campaignId);
      try (ResultSet r = s.executeQuery()) {
        return r.next();
      }
    }
  }

  private static long countProblems(Connection c, String campaignId) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT COUNT(*) FROM kfarm_problems WHERE campaign_id = ?")) {
      ViewWriter.bind(s, campaignId);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getLong(1);
      }
    }
  }

  private static long count(Connection c, String sql) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(sql); ResultSet r = s.executeQuery()) {
      r.next();
      return r.getLong(1);
    }
  }

  private static CampaignRow campaignRow(ResultSet r) throws SQLException {
    return new CampaignRow(r.getString("campaign_id"), r.getString("name"),
        CampaignState.valueOf(r.getString("state")), r.getInt("problem_count"), r.getInt("problems_done"),
        instant(r, "submitted_at"), instant(r, "cancelled_at"), instant(r, "finished_at"));
  }

  private static ProblemRow problemRow(ProblemState state, ProblemTally t) {
    ProblemResult p = t.result(Instant.now());
    return new ProblemRow(t.campaignId(), t.problemId(), t.name(), t.level(), state, t.finishReason(),
        t.best() == null ? null : t.best().status().name(), p.bestSpeedup(),
        t.best() == null ? null : t.best().candidateId().value(), t.bestBranch(), t.bestRound(), t.roundsPlanned(),
        t.answered(), t.judged(), t.statusCounts(), p.secondsToBest(), t.tokensToBest(), t.curve(), t.gpuSeconds(),
        t.promptTokens(), t.completionTokens(), t.costUsd(), t.startedAt(), t.finishedAt());
  }

  private static RoundRow roundRow(ResultSet r) throws SQLException {
    return new RoundRow(r.getInt("branch"), r.getInt("round"), instant(r, "answered_at"), r.getString("endpoint"),
        r.getString("candidate_id"), r.getInt("prompt_tokens"), r.getInt("completion_tokens"), r.getDouble("cost_usd"),
        r.getLong("latency_ms"), r.getString("finish_reason"), r.getString("status"), (Double) r.getObject("speedup"),
        r.getString("summary"), instant(r, "judged_at"), r.getString("restarted_from"));
  }

  private static Instant instant(ResultSet r, String column) throws SQLException {
    OffsetDateTime t = r.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }

  private static Instant instant(ResultSet r, int column) throws SQLException {
    OffsetDateTime t = r.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }

  private ProblemTally readTally(String text) {
    return read(text, new TypeReference<ProblemTally>() {});
  }

  private <T> T read(String text, TypeReference<T> type) {
    try {
      return json.readValue(text, type);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("read side: unreadable JSON column: " + e.getOriginalMessage(), e);
    }
  }
}
