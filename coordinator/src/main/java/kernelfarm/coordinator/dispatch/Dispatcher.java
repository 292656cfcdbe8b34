package kernelfarm.coordinator.dispatch;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.CandidateId;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Hands candidates to GpuWorkers by work pulling with leases. A worker asks when it has room; the Dispatcher offers
 * the oldest queued candidate its device can run, or keeps the request until one arrives. A lease that lapses (its
 * worker died, left, or lost contact) puts the candidate back at the head of the queue, and a worker can hand its
 * leases back at once (an unhealthy device, a drain). Verdicts are idempotent by candidate id: the first one wins,
 * under any lease the candidate had (a lapsed holder may finish first), and repeats are acked and dropped; a
 * renewal from a worker that no longer holds the lease is refused, so it stops working on the candidate. A verdict cache keyed by (candidate, settings,
 * device type) answers a repeated submission without spending GPU time.
 *
 * <p>State is in memory: the cluster singleton that runs this loses its queue when it moves, and Branches resubmit
 * (submission is idempotent), which is what makes that acceptable.
 */
public final class Dispatcher extends AbstractBehavior<DispatcherProtocol.Command> {
  private static final class Entry {
    final Candidate candidate;
    final Problem problem;
    final VerifySettings settings;
    final Set<ActorRef<DispatcherProtocol.VerdictReady>> waiting = new HashSet<>();
    /** Every lease this candidate has had, lapsed ones included: a late verdict under any of them counts. */
    final Set<String> leaseIds = new HashSet<>();
    /** The latest lease and its worker; null once handed back. */
    String leaseId;
    String holder;

    Entry(Candidate candidate, Problem problem, VerifySettings settings) {
      this.candidate = candidate;
      this.problem = problem;
      this.settings = settings;
    }
  }

  private record Lease(CandidateId candidateId, VerifySettings settings, String workerId, Instant expires) {}

  private record CacheKey(CandidateId candidateId, VerifySettings settings, String deviceType) {}

  private record EntryKey(CandidateId candidateId, VerifySettings settings) {}

  /** What GetStatus reports of one worker; updated as its requests, renewals, leases and verdicts pass. */
  private static final class Seen {
    final String deviceType;
    final Instant first;
    Instant last;
    int leases;
    Instant leasedSince;
    Duration leased = Duration.ZERO;
    long verdicts;

    Seen(String deviceType, Instant now) {
      this.deviceType = deviceType;
      this.first = now;
      this.last = now;
    }
  }

  /** Verdicts per minute is over this window. */
  private static final Duration RATE_WINDOW = Duration.ofMinutes(1);

  private final Clock clock;
  private final Duration leaseDuration;
  private final Counter leaseExpiries;
  private final Map<EntryKey, Entry> entries = new LinkedHashMap<>();
  private final Deque<EntryKey> queue = new ArrayDeque<>();
  private final Map<String, Lease> leases = new HashMap<>();
  /** Every lease id of a candidate still waiting for its verdict, live or not, to the candidate. */
  private final Map<String, EntryKey> leaseKeys = new HashMap<>();
  private final Map<String, DispatcherProtocol.RequestWork> parked = new LinkedHashMap<>();
  private final Map<CacheKey, Verdict> cache = new HashMap<>();
  private final Set<String> deviceTypes = new HashSet<>();
  private final Map<String, Seen> seen = new LinkedHashMap<>();
  private final Deque<Instant> recentVerdicts = new ArrayDeque<>();
  private long verdictCount;

  private Dispatcher(ActorContext<DispatcherProtocol.Command> context, Clock clock, Duration leaseDuration,
      Counter leaseExpiries) {
    super(context);
    this.clock = clock;
    this.leaseDuration = leaseDuration;
    this.leaseExpiries = leaseExpiries;
  }

  /**
   * @param leaseExpiries counts every lease that lapses, from {@link #leaseExpiries(PrometheusRegistry)}; made
   *     once per node, outside the actor, since the singleton may start on this node again
   */
  public static Behavior<DispatcherProtocol.Command> create(Clock clock, Duration leaseDuration,
      Counter leaseExpiries) {
    return Behaviors.setup(ctx -> new Dispatcher(ctx, clock, leaseDuration, leaseExpiries));
  }

  /** With lapses counted where nobody scrapes them: for tools and tests without a node. */
  public static Behavior<DispatcherProtocol.Command> create(Clock clock, Duration leaseDuration) {
    return create(clock, leaseDuration, leaseExpiries(new PrometheusRegistry()));
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
  public Receive<DispatcherProtocol.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(DispatcherProtocol.SubmitCandidate.class, this::onSubmit)
        .onMessage(DispatcherProtocol.Withdraw.class, this::onWithdraw)
        .onMessage(DispatcherProtocol.RequestWork.class, this::onRequestWork)
        .onMessage(DispatcherProtocol.RenewLease.class, this::onRenewLease)
        .onMessage(DispatcherProtocol.ReleaseLease.class, this::onReleaseLease)
        .onMessage(DispatcherProtocol.ReportVerdict.class, this::onReportVerdict)
        .onMessage(DispatcherProtocol.GetStatus.class, this::onGetStatus)
        .build();
  }

  private Behavior<DispatcherProtocol.Command> onSubmit(DispatcherProtocol.SubmitCandidate submit) {
    expireLeases();
    CandidateId id = submit.candidate().id();
    for (String type : deviceTypes) {
      Verdict cached = cache.get(new CacheKey(id, submit.settings(), type));
      if (cached != null) {
        submit.replyTo().tell(new DispatcherProtocol.Queued(id, true));
        submit.verdictTo().tell(new DispatcherProtocol.VerdictReady(cached));
        return this;
      }
    }
    EntryKey key = new EntryKey(id, submit.settings());
    Entry entry = entries.get(key);
    if (entry == null) {
      entry = new Entry(submit.candidate(), submit.problem(), submit.settings());
      entries.put(key, entry);
      queue.add(key);
    }
    entry.waiting.add(submit.verdictTo());
    submit.replyTo().tell(new DispatcherProtocol.Queued(id, false));
    offerParked();
    return this;
  }

  private Behavior<DispatcherProtocol.Command> onWithdraw(DispatcherProtocol.Withdraw withdraw) {
    EntryKey key = new EntryKey(withdraw.candidateId(), withdraw.settings());
    Entry entry = entries.get(key);
    if (entry != null) {
      entry.waiting.remove(withdraw.verdictTo());
      // Still queued: nobody works on it, so it goes. Leased: it runs to its verdict, which is cached.
      if (entry.waiting.isEmpty() && queue.contains(key)) {
        forget(key);
      }
    }
    return this;
  }

  private Behavior<DispatcherProtocol.Command> onRequestWork(DispatcherProtocol.RequestWork request) {
    expireLeases();
    deviceTypes.add(request.capabilities().deviceType());
    seen.computeIfAbsent(request.workerId(), id -> new Seen(request.capabilities().deviceType(), clock.instant()))
        .last = clock.instant();
    parked.put(request.workerId(), request);
    offerParked();
    return this;
  }

  private void offerParked() {
    Iterator<DispatcherProtocol.RequestWork> requests = parked.values().iterator();
    while (requests.hasNext() && !queue.isEmpty()) {
      DispatcherProtocol.RequestWork request = requests.next();
      EntryKey key = nextFor(request);
      if (key == null) {
        continue;
      }
      requests.remove();
      Entry entry = entries.get(key);
      String leaseId = "lease-" + UUID.randomUUID();
      entry.leaseId = leaseId;
      entry.holder = request.workerId();
      entry.leaseIds.add(leaseId);
      leaseKeys.put(leaseId, key);
      leases.put(leaseId, new Lease(key.candidateId(), key.settings(), request.workerId(),
          clock.instant().plus(leaseDuration)));
      leaseTaken(request.workerId());
      request.replyTo().tell(new DispatcherProtocol.WorkOffer(leaseId, entry.candidate, entry.problem,
          entry.settings, leaseDuration));
    }
  }

  private EntryKey nextFor(DispatcherProtocol.RequestWork request) {
    Iterator<EntryKey> keys = queue.iterator();
    while (keys.hasNext()) {
      EntryKey key = keys.next();
      if (request.capabilities().supports(entries.get(key).candidate.backend())) {
        keys.remove();
        return key;
      }
    }
    return null;
  }

  /**
   * Extends what the worker still holds. A lease that lapsed while its candidate still waits in the queue goes
   * back to its holder (it was only late); any other lease is refused, so a worker that lost its lease to another,
   * or works on a candidate already judged, stops spending its device on it.
   */
  private Behavior<DispatcherProtocol.Command> onRenewLease(DispatcherProtocol.RenewLease renew) {
    expireLeases();
    Instant expires = clock.instant().plus(leaseDuration);
    Seen worker = seen.get(renew.workerId());
    if (worker != null) {
      worker.last = clock.instant();
    }
    List<String> refused = new ArrayList<>();
    for (String leaseId : renew.leaseIds()) {
      Lease lease = leases.get(leaseId);
      if (lease != null && lease.workerId().equals(renew.workerId())) {
        leases.put(leaseId, new Lease(lease.candidateId(), lease.settings(), lease.workerId(), expires));
        continue;
      }
      EntryKey key = lease == null ? leaseKeys.get(leaseId) : null;
      Entry entry = key == null ? null : entries.get(key);
      if (entry != null && leaseId.equals(entry.leaseId) && renew.workerId().equals(entry.holder)
          && queue.remove(key)) {
        leases.put(leaseId, new Lease(key.candidateId(), key.settings(), renew.workerId(), expires));
        leaseTaken(renew.workerId());
        continue;
      }
      refused.add(leaseId);
    }
    if (!refused.isEmpty()) {
      renew.replyTo().tell(new DispatcherProtocol.RenewalRefused(refused));
    }
    offerParked();
    return this;
  }

  private Behavior<DispatcherProtocol.Command> onReleaseLease(DispatcherProtocol.ReleaseLease release) {
    expireLeases();
    parked.remove(release.workerId());
    for (String leaseId : release.leaseIds()) {
      Lease lease = leases.get(leaseId);
      if (lease == null || !lease.workerId().equals(release.workerId())) {
        continue;
      }
      leases.remove(leaseId);
      leaseGiven(lease.workerId());
      EntryKey key = new EntryKey(lease.candidateId(), lease.settings());
      Entry entry = entries.get(key);
      if (entry != null) {
        entry.leaseId = null;
        // Head of the queue: it has waited its turn once already.
        queue.addFirst(key);
      }
    }
    offerParked();
    return this;
  }

  /**
   * The first verdict for a candidate is kept, under whichever of its leases it comes: a worker whose lease lapsed
   * may finish before the worker that got the candidate next, and its verdict is as good. Everything after it
   * (repeats, the other worker's) is acked and dropped, and the other worker's renewals are refused.
   */
  private Behavior<DispatcherProtocol.Command> onReportVerdict(DispatcherProtocol.ReportVerdict report) {
    Verdict verdict = report.verdict();
    Lease lease = leases.remove(report.leaseId());
    if (lease != null) {
      leaseGiven(lease.workerId());
    }
    EntryKey key = lease != null ? new EntryKey(lease.candidateId(), lease.settings())
        : leaseKeys.get(report.leaseId());
    Entry entry = key == null || !key.candidateId().equals(verdict.candidateId()) ? null : entries.get(key);
    if (entry != null) {
      if (lease == null) {
        getContext().getLog().atDebug().addKeyValue("candidate", key.candidateId().value())
            .log("verdict under a lapsed lease accepted");
      }
      forget(key);
      verdictCounted(lease != null ? lease.workerId() : null);
      String deviceType = verdict.device() != null ? verdict.device().name() : "cpu";
      cache.put(new CacheKey(verdict.candidateId(), key.settings(), deviceType), verdict);
      entry.waiting.forEach(waiter -> waiter.tell(new DispatcherProtocol.VerdictReady(verdict)));
    }
    report.replyTo().tell(new DispatcherProtocol.VerdictAck(report.leaseId()));
    return this;
  }

  /** The candidate leaves: its queue place and every lease it had, so no holder can renew one. */
  private void forget(EntryKey key) {
    Entry entry = entries.remove(key);
    queue.remove(key);
    for (String leaseId : entry.leaseIds) {
      Lease held = leases.remove(leaseId);
      if (held != null) {
        leaseGiven(held.workerId());
      }
      leaseKeys.remove(leaseId);
    }
  }

  private Behavior<DispatcherProtocol.Command> onGetStatus(DispatcherProtocol.GetStatus get) {
    expireLeases();
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
          w.verdicts));
    });
    get.replyTo().tell(new DispatcherProtocol.FarmStatus(queue.size(), leases.size(), recentVerdicts.size(),
        verdictCount, workers));
    return this;
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

  /**
   * Lapsed leases are found when the next message arrives, not by a timer: every live worker renews and asks at a
   * third of the lease, so some message comes along well within a lease; and with no worker left there is
   * nobody to re-offer to until one asks, which is itself such a message.
   */
  private void expireLeases() {
    Instant now = clock.instant();
    Iterator<Map.Entry<String, Lease>> it = leases.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, Lease> e = it.next();
      if (e.getValue().expires().isBefore(now)) {
        it.remove();
        leaseExpiries.inc();
        leaseGiven(e.getValue().workerId());
        EntryKey key = new EntryKey(e.getValue().candidateId(), e.getValue().settings());
        if (entries.containsKey(key)) {
          getContext().getLog().atWarn().addKeyValue("candidate", key.candidateId().value())
              .addKeyValue("worker", e.getValue().workerId()).log("lease lapsed; candidate re-queued");
          queue.addFirst(key);
        }
      }
    }
  }
}
