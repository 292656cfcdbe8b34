package kernelfarm.coordinator.llm;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The LLM endpoints of one campaign, asked as one: each call goes to the endpoint with the most free slots, and a
 * call that an endpoint fails transiently (429, 408, 5xx, refused, timed out) moves on to the next one.
 *
 * <ul>
 *   <li><b>Spreading.</b> Endpoints that failed within {@link LlmClient#COOLDOWN} come last; among the rest, the
 *       one with the most free slots (its limit less the calls running and queued there) comes first, ties taken
 *       in turn. A fast endpoint frees its slots sooner and so takes more calls.
 *   <li><b>Failover.</b> A call tries every endpoint at most once. Each try but the last is a single attempt, so a
 *       rate-limited endpoint hands its call on at once instead of backing off; the last endpoint left keeps its
 *       own retries. A refusal that another endpoint would repeat (400, 401, a body that is no chat completion)
 *       fails the call at once.
 *   <li><b>One pool per campaign, clients per node.</b> The clients (and their limits, health and stats) belong to
 *       the node and are shared by every campaign that names their endpoints; a pool only orders them.
 * </ul>
 */
public final class LlmPool {
  private static final Logger log = LoggerFactory.getLogger(LlmPool.class);

  private final List<LlmClient> clients;
  private final AtomicInteger turn = new AtomicInteger();

  /** @param clients at least one, each endpoint once */
  public LlmPool(List<LlmClient> clients) {
    if (clients.isEmpty()) {
      throw new IllegalArgumentException("a pool needs at least one LLM endpoint");
    }
    this.clients = List.copyOf(clients);
  }

  public List<LlmClient> clients() {
    return clients;
  }

  /** The endpoints' names, in the order the pool was given them. */
  public List<String> names() {
    return clients.stream().map(c -> c.endpoint().name()).toList();
  }

  /**
   * Asks the endpoint with the most free capacity; on a transient failure, the next. Completes with the answer
   * ({@link ChatResult#endpoint()} says who gave it) or fails with the last endpoint's {@link LlmException}, whose
   * message also names the endpoints tried before it.
   */
  public CompletionStage<ChatResult> complete(ChatRequest request) {
    CompletableFuture<ChatResult> answer = new CompletableFuture<>();
    attempt(request, order(), 0, new ArrayList<>(), true, answer);
    return answer;
  }

  /**
   * Checks every endpoint with {@link LlmClient#probe}; completes with the names of those that are unreachable and
   * why, in pool order (empty when all answer).
   */
  public CompletionStage<List<String>> unreachable(Duration timeout) {
    List<CompletableFuture<Optional<String>>> probes = clients.stream()
        .map(c -> c.probe(timeout).toCompletableFuture()).toList();
    return CompletableFuture.allOf(probes.toArray(CompletableFuture[]::new)).thenApply(done -> {
      List<String> down = new ArrayList<>();
      for (int i = 0; i < clients.size(); i++) {
        LlmEndpoint e = clients.get(i).endpoint();
        probes.get(i).join().ifPresent(why -> down.add(e.name() + " (" + e.baseUrl() + "): " + why));
      }
      return down;
    });
  }

  /** The per-endpoint figures, in pool order. */
  public List<LlmClient.Stats> stats() {
    return clients.stream().map(LlmClient::stats).toList();
  }

  private List<LlmClient> order() {
    if (clients.size() == 1) {
      return clients;
    }
    // Rotating the start before a stable sort takes equal endpoints in turn.
    int start = Math.floorMod(turn.getAndIncrement(), clients.size());
    List<LlmClient> rotated = new ArrayList<>(clients.subList(start, clients.size()));
    rotated.addAll(clients.subList(0, start));
    rotated.sort(Comparator.comparing(LlmClient::coolingDown)
        .thenComparing(Comparator.comparingInt(LlmClient::freeSlots).reversed()));
    return rotated;
  }

  private void attempt(ChatRequest request, List<LlmClient> order, int index, List<String> earlier,
      boolean allUnreachable, CompletableFuture<ChatResult> answer) {
    LlmClient client = order.get(index);
    boolean last = index == order.size() - 1;
    CompletionStage<ChatResult> call = last ? client.complete(request) : client.complete(request, 0);
    call.whenComplete((result, thrown) -> {
      if (thrown == null) {
        answer.complete(result);
        return;
      }
      Throwable failure = thrown instanceof CompletionException && thrown.getCause() != null
          ? thrown.getCause() : thrown;
      if (!last && failure instanceof LlmException e && e.isTransient()) {
        client.countFailover();
        LlmClient next = order.get(index + 1);
        log.atDebug().addKeyValue("from", client.endpoint().name()).addKeyValue("to", next.endpoint().name())
            .addKeyValue("status", e.status()).log("llm call failed over");
        earlier.add(e.getMessage());
        attempt(request, order, index + 1, earlier, allUnreachable && e.unreachable(), answer);
      } else if (!earlier.isEmpty() && failure instanceof LlmException e) {
        answer.completeExceptionally(new LlmException(e.endpoint(), e.status(), e.attempts(), e.isTransient(),
            allUnreachable && e.unreachable(),
            e.getMessage() + "; tried before: " + earlier.stream().collect(Collectors.joining("; "))));
      } else {
        answer.completeExceptionally(failure);
      }
    });
  }
}
