package kernelfarm.coordinator.dispatch;

import com.typesafe.config.Config;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import kernelfarm.coordinator.campaign.CoordinatorEntities;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.CandidateId;
import kernelfarm.protocol.CborSerializable;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * Hands candidates to GpuWorkers by work pulling with leases. A worker asks when it has room; the Dispatcher offers
 * the oldest queued candidate its device can run, or keeps the request until one arrives. A lease that lapses (its
 * worker died, left, or lost contact) puts the candidate back at the head of the queue, and a worker can hand its
 * leases back at once (an unhealthy device, a drain). Verdicts are idempotent by candidate: the first one wins,
 * under any lease the candidate had (a lapsed holder may finish first), and repeats are acked and dropped; a renewal
 * from a worker that no longer holds the lease is refused, so it stops working on the candidate. A verdict cache
 * keyed by (candidate, settings, device type) answers a repeated submission without spending GPU time.
 *
 * <p>Event-sourced, as the distributed-workers sample's WorkManager: what was submitted, withdrawn and judged is
 * persisted before it is acked, so when the singleton moves (its node died) the next one rebuilds the queue, its
 * submitters and the recent verdicts from the journal. Leases, parked requests and worker statistics stay in memory:
 * persisting every offer and renewal would put a journal write on each step of the hot loop, and a lost lease costs
 * little, since every candidate not judged is queued again on recovery. A lease id names the candidate's queue
 * entry, so a worker that still works under a lease of the previous singleton keeps it (its renewal adopts the
 * lease) and its verdict counts, once.
 */
public final class Dispatcher
    extends EventSourcedBehavior<DispatcherProtocol.Command, Dispatcher.Event, Dispatcher.State> {

  /** What is persisted. Candidate-sized, never per lease or renewal. */
  public sealed interface Event extends CborSerializable {}

  /** A candidate joined the queue, or one more submitter waits for its verdict. */
  public record CandidateSubmitted(Candidate candidate, Problem problem, VerifySettings settings,
      ActorRef<DispatcherProtocol.VerdictReady> verdictTo) implements Event {}

  /** A submitter stopped waiting; {@code dropped}: nobody else waited and no worker had it, so it left the queue. */
  public record SubmitterWithdrew(CandidateId candidateId, VerifySettings settings,
      ActorRef<DispatcherProtocol.VerdictReady> verdictTo, boolean dropped) implements Event {}

  /** The candidate's first verdict: it leaves the queue, and the verdict answers later submissions. */
  public record CandidateJudged(VerifySettings settings, Verdict verdict) implements Event {}

  /**
   * Where the Dispatcher keeps its events. The cluster singleton uses the node's journal; {@code kfarm verify} and
   * the unit tests use Pekko's in-memory journal, since nothing of theirs outlives the process.
   *
   * @param persistenceId one per cluster: every incarnation of the singleton must recover the same queue
   * @param snapshotEvery 0 for no snapshots
   * @param verdictCache how many of the latest verdicts answer repeated submissions
   */
  public record Settings(String persistenceId, String journalPluginId, String snapshotPluginId, int snapshotEvery,
      int verdictCache) {
    public Settings {
      if (snapshotEvery < 0) {
        throw new IllegalArgumentException("kernelfarm.coordinator.dispatch.snapshot-every must be >= 0, got "
            + snapshotEvery);
      }
      if (verdictCache < 0) {
        throw new IllegalArgumentException("kernelfarm.coordinator.dispatch.verdict-cache must be >= 0, got "
            + verdictCache);
      }
    }

    /** The cluster singleton's: the node's default journal and snapshot store. */
    public static Settings from(Config config) {
      Config c = config.getConfig("kernelfarm.coordinator.dispatch");
      return new Settings("dispatcher", "", "", c.getInt("snapshot-every"), c.getInt("verdict-cache"));
    }

    /** A Dispatcher whose queue lives and dies with its actor system: a persistence id of its own, no store. */
    public static Settings inMemory() {
      return new Settings("dispatcher-" + UUID.randomUUID(), "pekko.persistence.journal.inmem",
          "pekko.persistence.no-snapshot-store", 0, Integer.MAX_VALUE);
    }
  }

  /** One queued or leased candidate, as recovered; {@code seq} names it in lease ids. */
  private static final class Entry {
    final long seq;
    final Candidate candidate;
    final Problem problem;
    final VerifySettings settings;
    final Set<ActorRef<DispatcherProtocol.VerdictReady>> waiting = new LinkedHashSet<>();

    Entry(long seq, Candidate candidate, Problem problem, VerifySettings settings) {
      this.seq = seq;
      this.candidate = candidate;
      this.problem = problem;
      this.settings = settings;
    }
  }

  private record EntryKey(CandidateId candidateId, VerifySettings settings) {}

  private record CacheKey(CandidateId candidateId, VerifySettings settings, String deviceType) {}

  /** What the events say: the candidates waiting for a verdict, in submission order, and the latest verdicts. */
  static final class State {
    long nextSeq = 1;
    final Map<EntryKey, Entry> entries = new LinkedHashMap<>();
    final Map<Long, EntryKey> bySeq = new HashMap<>();
    final Map<CacheKey, Verdict> cache = new LinkedHashMap<>();
    final int cacheSize;

    State(int cacheSize) {
      this.cacheSize = cacheSize;
    }

    Entry add(long seq, Candidate candidate, Problem problem, VerifySettings settings) {
      EntryKey key = new EntryKey(candidate.id(), settings);
      Entry entry = new Entry(seq, candidate, problem, settings);
      entries.put(key, entry);
      bySeq.put(seq, key);
      nextSeq = Math.max(nextSeq, seq + 1);
      return entry;
    }

    void remove(EntryKey key) {
      Entry entry = entries.remove(key);
      if (entry != null) {
        bySeq.remove(entry.seq);
      }
    }

    void cache(VerifySettings settings, Verdict verdict) {
      cache.put(new CacheKey(verdict.candidateId(), settings, deviceType(verdict)), verdict);
      // Oldest first out: repeats of a submission come soon after its verdict (a resubmit racing it).
      Iterator<CacheKey> oldest = cache.keySet().iterator();
      while (cache.size() > cacheSize && oldest.hasNext()) {
        oldest.next();
        oldest.remove();
      }
    }

    /** The entry a lease id names ({@code lease-<seq>-<uuid>}), if it still waits for its verdict. */
    EntryKey keyOfLease(String leaseId) {
      String[] parts = leaseId.split("-", 3);
      if (parts.length < 3 || !parts[0].equals("lease")) {
        return null;
      }
      try {
        return bySeq.get(Long.parseLong(parts[1]));
      } catch (NumberFormatException e) {
        return null;
      }
    }
  }

  private record Lease(EntryKey key, String workerId, Instant expires) {}

  /** The latest lease of a candidate and its worker; {@code leaseId} null once handed back. */
  private record Holding(String leaseId, String holder) {}

  /** What GetStatus reports of one worker; updated as its requests, renewals, leases and verdicts pass. */
  private static final class Seen {
    final String deviceType;
    final Instant first;
    Instant last;
    int leases;
    Instant leasedSince;
    Duration leased = Duration.ZERO;
    long verdicts;
    /** What its latest request for work said it can run; empty until it asks. */
    Set<Backend> backends = Set.of();
    /** Its latest report of what the device does; null until one comes. */
    DispatcherProtocol.DeviceReport report;

    Seen(String deviceType, Instant now) {
      this.deviceType = deviceType;
      this.first = now;
      this.last = now;
    }
  }

  /** Verdicts per minute is over this window. */
  private static final Duration RATE_WINDOW = Duration.ofMinutes(1);

  private final ActorContext<DispatcherProtocol.Command> context;
  private final Clock clock;
  private final Duration leaseDuration;
  private final Settings settings;
  private final Counter leaseExpiries;
  // In memory only; rebuilt (queue) or started afresh (the rest) by each incarnation.
  private final Deque<EntryKey> queue = new ArrayDeque<>();
  private final Map<String, Lease> leases = new HashMap<>();
  private final Map<EntryKey, Holding> latest = new HashMap<>();
  private final Map<String, DispatcherProtocol.RequestWork> parked = new LinkedHashMap<>();
  private final Set<String> deviceTypes = new LinkedHashSet<>();
  private final Map<String, Seen> seen = new LinkedHashMap<>();
  private final Deque<Instant> recentVerdicts = new ArrayDeque<>();
  private long verdictCount;
  /** Backends queued work needs that no worker serves, each warned of once until one does. */
  private final Set<Backend> unservedWarned = EnumSet.noneOf(Backend.class);
  /** Unserved at the last check: warned of only if still so at the next, so a worker that is about to ask is not. */
  private final Set<Backend> unservedBefore = EnumSet.noneOf(Backend.class);
  private Instant servedCheckedAt = Instant.EPOCH;

  private Dispatcher(ActorContext<DispatcherProtocol.Command> context, Clock clock, Duration leaseDuration,
      Settings settings, Counter leaseExpiries) {
    super(PersistenceId.ofUniqueId(settings.persistenceId()), CoordinatorEntities.ON_PERSIST_FAILURE);
    this.context = context;
    this.clock = clock;
    this.leaseDuration = leaseDuration;
    this.settings = settings;
    this.leaseExpiries = leaseExpiries;
  }

  /** A Dispatcher whose queue lives as long as its actor system ({@code kfarm verify}, tests). */
  public static Behavior<DispatcherProtocol.Command> create(Clock clock, Duration leaseDuration) {
    return create(clock, leaseDuration, Settings.inMemory());
  }

  /** With lapses counted where nobody scrapes them: for tools and tests without a node. */
  public static Behavior<DispatcherProtocol.Command> create(Clock clock, Duration leaseDuration, Settings settings) {
    return create(clock, leaseDuration, settings, leaseExpiries(new PrometheusRegistry()));
  }

  /**
   * @param leaseExpiries counts every lease that lapses, from {@link #leaseExpiries(PrometheusRegistry)}; made
   *     once per node, outside the actor, since the singleton may start on this node again
   */
  public static Behavior<DispatcherProtocol.Command> create(Clock clock, Duration leaseDuration, Settings settings,
      Counter leaseExpiries) {
    return Behaviors.setup(ctx -> new Dispatcher(ctx, clock, leaseDuration, settings, leaseExpiries));
  }

  /**
   * The counter of lapsed leases in this node's registry. Only the node holding the singleton counts, so the
   * cluster's figure is the sum over coordinator nodes.
   */
  public static Counter leaseExpiries(PrometheusRegistry registry) {
    return Counter.builder().name("kfarm_lease_expiries_total")
        .help("Leases that lapsed without a verdict or renewal (a worker gone, stuck or partitioned)")
        .register(registry);
  }

  @Override
  public String journalPluginId() {
    return settings.journalPluginId();
  }

  @Override
  public String snapshotPluginId() {
    return settings.snapshotPluginId();
  }

  @Override
  public State emptyState() {
    return new State(settings.verdictCache());
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    // The events before a snapshot are deleted: this journal is all churn (every candidate in, then out), and
    // recovery needs only the latest snapshot and what came after it.
    return settings.snapshotEvery() == 0 ? RetentionCriteria.disabled()
        : RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), this::onRecovered).build();
  }

  /**
   * Everything not judged and not leased is queued, in submission order; a lease of the previous singleton may be
   * adopted later. A persist failure restarts this behaviour on the same instance (journal down): the leases it
   * still knows of stay true then, and their candidates stay with their workers.
   */
  private void onRecovered(State state) {
    leases.values().removeIf(lease -> !state.entries.containsKey(lease.key()));
    latest.keySet().retainAll(state.entries.keySet());
    Set<EntryKey> held = new HashSet<>();
    leases.values().forEach(lease -> held.add(lease.key()));
    queue.clear();
    state.entries.keySet().stream().filter(key -> !held.contains(key)).forEach(queue::add);
    state.cache.keySet().forEach(k -> deviceTypes.add(k.deviceType()));
    if (!state.entries.isEmpty()) {
      context.getLog().atInfo().addKeyValue("queued", queue.size()).addKeyValue("leased", held.size())
          .log("dispatcher recovered its queue");
    }
    offerParked(state);
  }

  @Override
  public CommandHandler<DispatcherProtocol.Command, Event, State> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(DispatcherProtocol.SubmitCandidate.class, this::onSubmit)
        .onCommand(DispatcherProtocol.Withdraw.class, this::onWithdraw)
        .onCommand(DispatcherProtocol.RequestWork.class, this::onRequestWork)
        .onCommand(DispatcherProtocol.RenewLease.class, this::onRenewLease)
        .onCommand(DispatcherProtocol.ReleaseLease.class, this::onReleaseLease)
        .onCommand(DispatcherProtocol.ReportVerdict.class, this::onReportVerdict)
        .onCommand(DispatcherProtocol.GetStatus.class, this::onGetStatus)
        .onCommand(DispatcherProtocol.DeviceReport.class, this::onDeviceReport)
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(CandidateSubmitted.class, (state, e) -> {
          Entry entry = state.entries.get(new EntryKey(e.candidate().id(), e.settings()));
          if (entry == null) {
            entry = state.add(state.nextSeq, e.candidate(), e.problem(), e.settings());
          }
          entry.waiting.add(e.verdictTo());
          return state;
        })
        .onEvent(SubmitterWithdrew.class, (state, e) -> {
          EntryKey key = new EntryKey(e.candidateId(), e.settings());
          Entry entry = state.entries.get(key);
          if (entry != null) {
            entry.waiting.remove(e.verdictTo());
            if (e.dropped()) {
              state.remove(key);
            }
          }
          return state;
        })
        .onEvent(CandidateJudged.class, (state, e) -> {
          state.remove(new EntryKey(e.verdict().candidateId(), e.settings()));
          state.cache(e.settings(), e.verdict());
          return state;
        })
        .build();
  }

  private Effect<Event, State> onSubmit(State state, DispatcherProtocol.SubmitCandidate submit) {
    expireLeases(state);
    CandidateId id = submit.candidate().id();
    for (String type : deviceTypes) {
      Verdict cached = state.cache.get(new CacheKey(id, submit.settings(), type));
      if (cached != null) {
        submit.replyTo().tell(new DispatcherProtocol.Queued(id, true));
        submit.verdictTo().tell(new DispatcherProtocol.VerdictReady(cached));
        return Effect().none();
      }
    }
    EntryKey key = new EntryKey(id, submit.settings());
    Entry entry = state.entries.get(key);
    if (entry != null && entry.waiting.contains(submit.verdictTo())) {
      submit.replyTo().tell(new DispatcherProtocol.Queued(id, false));
      return Effect().none();
    }
    boolean fresh = entry == null;
    return Effect()
        .persist(new CandidateSubmitted(submit.candidate(), submit.problem(), submit.settings(), submit.verdictTo()))
        .thenRun(s -> {
          if (fresh) {
            queue.add(key);
          }
          submit.replyTo().tell(new DispatcherProtocol.Queued(id, false));
          offerParked(s);
        });
  }

  private Effect<Event, State> onWithdraw(State state, DispatcherProtocol.Withdraw withdraw) {
    EntryKey key = new EntryKey(withdraw.candidateId(), withdraw.settings());
    Entry entry = state.entries.get(key);
    if (entry == null || !entry.waiting.contains(withdraw.verdictTo())) {
      return Effect().none();
    }
    // Still queued: nobody works on it, so it goes. Leased: it runs to its verdict, which is cached.
    boolean dropped = entry.waiting.size() == 1 && queue.contains(key);
    return Effect()
        .persist(new SubmitterWithdrew(withdraw.candidateId(), withdraw.settings(), withdraw.verdictTo(), dropped))
        .thenRun(s -> {
          if (dropped) {
            forget(key);
          }
        });
  }

  private Effect<Event, State> onRequestWork(State state, DispatcherProtocol.RequestWork request) {
    expireLeases(state);
    deviceTypes.add(request.capabilities().deviceType());
    Seen worker = seen.computeIfAbsent(request.workerId(),
        id -> new Seen(request.capabilities().deviceType(), clock.instant()));
    worker.last = clock.instant();
    worker.backends = request.capabilities().backends();
    parked.put(request.workerId(), request);
    offerParked(state);
    warnIfUnserved(state);
    return Effect().none();
  }

  /** How often an idle worker beside a non-empty queue makes the Dispatcher look for work nobody can take. */
  private static final Duration SERVED_CHECK_EVERY = Duration.ofSeconds(10);

  /**
   * A worker waits while work is queued: what is left may be for a backend no worker in the farm runs (a cuda
   * campaign on a farm of CPU workers, say). Such a campaign would wait for ever without a word; say so, once
   * per backend, with what the workers do serve, once two checks apart agree.
   */
  private void warnIfUnserved(State state) {
    Instant now = clock.instant();
    if (parked.isEmpty() || queue.isEmpty()
        || Duration.between(servedCheckedAt, now).compareTo(SERVED_CHECK_EVERY) < 0) {
      return;
    }
    servedCheckedAt = now;
    Set<Backend> served = EnumSet.noneOf(Backend.class);
    Duration gone = leaseDuration.multipliedBy(3);
    seen.values().stream().filter(w -> Duration.between(w.last, now).compareTo(gone) <= 0)
        .forEach(w -> served.addAll(w.backends));
    unservedWarned.removeAll(served);
    Map<Backend, Integer> waiting = new EnumMap<>(Backend.class);
    for (EntryKey key : queue) {
      Backend backend = state.entries.get(key).candidate.backend();
      if (!served.contains(backend)) {
        waiting.merge(backend, 1, Integer::sum);
      }
    }
    Set<Backend> before = EnumSet.copyOf(unservedBefore);
    unservedBefore.clear();
    unservedBefore.addAll(waiting.keySet());
    waiting.forEach((backend, count) -> {
      if (before.contains(backend) && unservedWarned.add(backend)) {
        context.getLog().atWarn().addKeyValue("backend", backend.name().toLowerCase(Locale.ROOT))
            .addKeyValue("queued", count)
            .addKeyValue("workersServe", served.stream().map(b -> b.name().toLowerCase(Locale.ROOT)).toList())
            .log("queued candidates wait for a backend no worker serves: start a worker on a host with that backend "
                + "(a GPU host for cuda and triton), or run the campaign with --backend one of the workers serves");
      }
    });
  }

  private void offerParked(State state) {
    Iterator<DispatcherProtocol.RequestWork> requests = parked.values().iterator();
    while (requests.hasNext() && !queue.isEmpty()) {
      DispatcherProtocol.RequestWork request = requests.next();
      EntryKey key = nextFor(state, request);
      if (key == null) {
        continue;
      }
      requests.remove();
      Entry entry = state.entries.get(key);
      String leaseId = "lease-" + entry.seq + "-" + UUID.randomUUID();
      lease(key, leaseId, request.workerId());
      request.replyTo().tell(new DispatcherProtocol.WorkOffer(leaseId, entry.candidate, entry.problem,
          entry.settings, leaseDuration));
    }
  }

  private void lease(EntryKey key, String leaseId, String workerId) {
    latest.put(key, new Holding(leaseId, workerId));
    leases.put(leaseId, new Lease(key, workerId, clock.instant().plus(leaseDuration)));
    leaseTaken(workerId);
  }

  private EntryKey nextFor(State state, DispatcherProtocol.RequestWork request) {
    Iterator<EntryKey> keys = queue.iterator();
    while (keys.hasNext()) {
      EntryKey key = keys.next();
      if (request.capabilities().supports(state.entries.get(key).candidate.backend())) {
        keys.remove();
        return key;
      }
    }
    return null;
  }

  /**
   * Extends what the worker still holds. A lease that lapsed while its candidate still waits in the queue goes
   * back to its holder (it was only late), and so does one a previous incarnation of this singleton granted; any
   * other lease is refused, so a worker that lost its lease to another, or works on a candidate already judged,
   * stops spending its device on it.
   */
  private Effect<Event, State> onRenewLease(State state, DispatcherProtocol.RenewLease renew) {
    expireLeases(state);
    Instant expires = clock.instant().plus(leaseDuration);
    Seen worker = seen.get(renew.workerId());
    if (worker != null) {
      worker.last = clock.instant();
    }
    List<String> refused = new ArrayList<>();
    for (String leaseId : renew.leaseIds()) {
      Lease lease = leases.get(leaseId);
      if (lease != null && lease.workerId().equals(renew.workerId())) {
        leases.put(leaseId, new Lease(lease.key(), lease.workerId(), expires));
        continue;
      }
      EntryKey key = lease == null ? state.keyOfLease(leaseId) : null;
      Holding holding = key == null ? null : latest.get(key);
      boolean stillItsHolder = holding == null
          || (leaseId.equals(holding.leaseId()) && renew.workerId().equals(holding.holder()));
      if (key != null && stillItsHolder && queue.remove(key)) {
        lease(key, leaseId, renew.workerId());
        continue;
      }
      refused.add(leaseId);
    }
    if (!refused.isEmpty()) {
      renew.replyTo().tell(new DispatcherProtocol.RenewalRefused(refused));
    }
    offerParked(state);
    return Effect().none();
  }

  private Effect<Event, State> onReleaseLease(State state, DispatcherProtocol.ReleaseLease release) {
    expireLeases(state);
    parked.remove(release.workerId());
    for (String leaseId : release.leaseIds()) {
      Lease lease = leases.get(leaseId);
      if (lease == null || !lease.workerId().equals(release.workerId())) {
        continue;
      }
      leases.remove(leaseId);
      leaseGiven(lease.workerId());
      if (state.entries.containsKey(lease.key())) {
        latest.put(lease.key(), new Holding(null, release.workerId()));
        // Head of the queue: it has waited its turn once already.
        queue.addFirst(lease.key());
      }
    }
    offerParked(state);
    return Effect().none();
  }

  /**
   * The first verdict for a candidate is kept, under whichever of its leases it comes: a worker whose lease lapsed
   * may finish before the worker that got the candidate next, and its verdict is as good. Everything after it
   * (repeats, the other worker's) is acked and dropped, and the other worker's renewals are refused. The verdict
   * is persisted before it is acked or passed on.
   */
  private Effect<Event, State> onReportVerdict(State state, DispatcherProtocol.ReportVerdict report) {
    Verdict verdict = report.verdict();
    Lease lease = leases.get(report.leaseId());
    EntryKey key = lease != null ? lease.key() : state.keyOfLease(report.leaseId());
    Entry entry = key == null || !key.candidateId().equals(verdict.candidateId()) ? null : state.entries.get(key);
    if (entry == null) {
      report.replyTo().tell(new DispatcherProtocol.VerdictAck(report.leaseId()));
      return Effect().none();
    }
    if (lease == null) {
      context.getLog().atDebug().addKeyValue("candidate", key.candidateId().value())
          .log("verdict under a lapsed lease accepted");
    }
    return Effect().persist(new CandidateJudged(key.settings(), verdict)).thenRun(s -> {
      forget(key);
      verdictCounted(lease != null ? lease.workerId() : null);
      entry.waiting.forEach(waiter -> waiter.tell(new DispatcherProtocol.VerdictReady(verdict)));
      report.replyTo().tell(new DispatcherProtocol.VerdictAck(report.leaseId()));
    });
  }

  /** The candidate left the state: its queue place and every lease it had go, so no holder can renew one. */
  private void forget(EntryKey key) {
    queue.remove(key);
    latest.remove(key);
    Iterator<Lease> held = leases.values().iterator();
    while (held.hasNext()) {
      Lease lease = held.next();
      if (lease.key().equals(key)) {
        held.remove();
        leaseGiven(lease.workerId());
      }
    }
  }

  /**
   * Kept with the worker's statistics, in memory only: a report is replaced within a third of a lease, so a moved
   * singleton has them all back soon, and a journal write per report would cost more than it saves. A report also
   * counts as hearing from the worker: an unhealthy or draining device asks for nothing, yet is there.
   */
  private Effect<Event, State> onDeviceReport(State state, DispatcherProtocol.DeviceReport report) {
    Seen worker = seen.computeIfAbsent(report.workerId(), id -> new Seen(report.deviceType(), clock.instant()));
    worker.last = clock.instant();
    worker.report = report;
    return Effect().none();
  }

  private Effect<Event, State> onGetStatus(State state, DispatcherProtocol.GetStatus get) {
    expireLeases(state);
    Instant now = clock.instant();
    pruneVerdicts(now);
    // A worker that left stops asking; after three leases of silence it is gone, not merely busy.
    Duration gone = leaseDuration.multipliedBy(3);
    seen.entrySet().removeIf(e -> e.getValue().leases == 0 && !parked.containsKey(e.getKey())
        && Duration.between(e.getValue().last, now).compareTo(gone) > 0);
    List<DispatcherProtocol.WorkerStatus> workers = new ArrayList<>();
    seen.forEach((id, w) -> {
      Duration leased = w.leasedSince == null ? w.leased : w.leased.plus(Duration.between(w.leasedSince, now));
      workers.add(new DispatcherProtocol.WorkerStatus(id, w.deviceType, w.leases, parked.containsKey(id),
          seconds(leased), seconds(Duration.between(w.first, now)), seconds(Duration.between(w.last, now)),
          w.verdicts, w.report));
    });
    get.replyTo().tell(new DispatcherProtocol.FarmStatus(queue.size(), leases.size(), recentVerdicts.size(),
        verdictCount, workers));
    return Effect().none();
  }

  private void leaseTaken(String workerId) {
    Seen w = seen.get(workerId);
    if (w != null && w.leases++ == 0) {
      w.leasedSince = clock.instant();
    }
  }

  /** A lease ended (verdict, release, lapse or the candidate judged elsewhere). */
  private void leaseGiven(String workerId) {
    Seen w = seen.get(workerId);
    if (w == null || w.leases == 0) {
      return;
    }
    if (--w.leases == 0 && w.leasedSince != null) {
      w.leased = w.leased.plus(Duration.between(w.leasedSince, clock.instant()));
      w.leasedSince = null;
    }
  }

  /** An accepted verdict; {@code workerId} is null for one that came under a lapsed lease. */
  private void verdictCounted(String workerId) {
    Instant now = clock.instant();
    verdictCount++;
    recentVerdicts.addLast(now);
    pruneVerdicts(now);
    Seen w = workerId == null ? null : seen.get(workerId);
    if (w != null) {
      w.verdicts++;
    }
  }

  private void pruneVerdicts(Instant now) {
    Instant from = now.minus(RATE_WINDOW);
    while (!recentVerdicts.isEmpty() && recentVerdicts.peekFirst().isBefore(from)) {
      recentVerdicts.removeFirst();
    }
  }

  private static double seconds(Duration d) {
    return d.toNanos() / 1e9;
  }

  private static String deviceType(Verdict verdict) {
    return verdict.device() != null ? verdict.device().name() : "cpu";
  }

  /**
   * Lapsed leases are found when the next message arrives, not by a timer: every live worker renews and asks at a
   * third of the lease, so some message comes along well within a lease; and with no worker left there is
   * nobody to re-offer to until one asks, which is itself such a message.
   */
  private void expireLeases(State state) {
    Instant now = clock.instant();
    Iterator<Map.Entry<String, Lease>> it = leases.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, Lease> e = it.next();
      if (e.getValue().expires().isBefore(now)) {
        it.remove();
        leaseExpiries.inc();
        leaseGiven(e.getValue().workerId());
        EntryKey key = e.getValue().key();
        if (state.entries.containsKey(key)) {
          context.getLog().atWarn().addKeyValue("candidate", key.candidateId().value())
              .addKeyValue("worker", e.getValue().workerId()).log("lease lapsed; candidate re-queued");
          queue.addFirst(key);
        }
      }
    }
  }

  /**
   * State is mutable, and a snapshot is serialized after the actor moves on: the adapter copies it into an
   * immutable {@link Snapshot} on the actor's thread, and rebuilds State from one on recovery.
   */
  @Override
  public SnapshotAdapter<State> snapshotAdapter() {
    return new SnapshotAdapter<>() {
      @Override
      public Object toJournal(State state) {
        return Snapshot.of(state);
      }

      @Override
      public State fromJournal(Object from) {
        return ((Snapshot) from).toState(settings.verdictCache());
      }
    };
  }

  /**
   * The queue and the verdict cache, as snapshotted. Problems are listed once (a problem's source is shared by all
   * its candidates) and named by index. Evolve only by new Optional fields (STYLE.md section 5).
   */
  public record Snapshot(long nextSeq, List<Problem> problems, List<PendingCandidate> pending,
      List<CachedVerdict> verdicts) implements CborSerializable {
    static Snapshot of(State s) {
      List<Problem> problems = new ArrayList<>();
      Map<Problem, Integer> index = new HashMap<>();
      List<PendingCandidate> pending = new ArrayList<>();
      s.entries.values().forEach(e -> pending.add(new PendingCandidate(e.seq, e.candidate,
          index.computeIfAbsent(e.problem, p -> {
            problems.add(p);
            return problems.size() - 1;
          }), e.settings, List.copyOf(e.waiting))));
      List<CachedVerdict> verdicts = new ArrayList<>();
      s.cache.forEach((k, v) -> verdicts.add(new CachedVerdict(k.settings(), v)));
      return new Snapshot(s.nextSeq, problems, pending, verdicts);
    }

    State toState(int cacheSize) {
      State s = new State(cacheSize);
      pending.forEach(p -> s.add(p.seq(), p.candidate(), problems.get(p.problem()), p.settings()).waiting
          .addAll(p.waiting()));
      verdicts.forEach(v -> s.cache(v.settings(), v.verdict()));
      s.nextSeq = Math.max(s.nextSeq, nextSeq);
      return s;
    }
  }

  /** One candidate waiting for its verdict in a {@link Snapshot}; {@code problem} indexes its problems. */
  public record PendingCandidate(long seq, Candidate candidate, int problem, VerifySettings settings,
      List<ActorRef<DispatcherProtocol.VerdictReady>> waiting) implements CborSerializable {}

  /** One cached verdict in a {@link Snapshot}. */
  public record CachedVerdict(VerifySettings settings, Verdict verdict) implements CborSerializable {}
}
