package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code kfarm nodes}: a running cluster's members and every device the Dispatcher hears from, through a
 * coordinator's HTTP API ({@code GET /api/v1/cluster/status}, what the dashboard's Cluster page reads).
 *
 * <pre>
 * kfarm nodes --url http://coordinator:8480
 * </pre>
 */
@Command(name = "nodes", mixinStandardHelpOptions = true,
    description = "List a running cluster's members and every device with its state (the Dispatcher's: busy, idle, "
        + "silent) and what it reported (evaluating, compiling, idle, unhealthy, draining; health, warm "
        + "evaluation processes, its host's compile slots busy/total), through a coordinator's API. "
        + "Exits 1 when the members came but the Dispatcher did not answer.")
final class NodesCommand implements Callable<Integer> {
  @Mixin
  RemoteApi api;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    JsonNode status = api.get("/api/v1/cluster/status");
    PrintWriter out = spec.commandLine().getOut();
    JsonNode members = status.path("members");
    out.printf("%d members%n", members.size());
    out.printf("  %-46s %-8s %-22s %s%n", "address", "status", "roles", "reachable");
    for (JsonNode m : members) {
      List<String> roles = new ArrayList<>();
      m.path("roles").forEach(r -> roles.add(r.asText()));
      out.printf("  %-46s %-8s %-22s %s%n", m.path("address").asText(), m.path("status").asText(),
          String.join(",", roles), m.path("reachable").asBoolean() ? "yes" : "UNREACHABLE");
    }
    JsonNode farm = status.path("farm");
    if (!farm.isObject()) {
      out.flush();
      JsonNode why = status.path("farmError").path("errors").path(0);
      spec.commandLine().getErr().printf("kfarm: the Dispatcher did not answer (%s %s); devices are unknown. %s%n",
          why.path("field").asText(), why.path("problem").asText(), why.path("fix").asText());
      return 1;
    }
    JsonNode workers = farm.path("workers");
    out.printf("%d devices; queue %d, leased %d, %d verdicts in the last minute%n", workers.size(),
        farm.path("queued").asInt(), farm.path("leased").asInt(), farm.path("verdictsLastMinute").asInt());
    // state is the Dispatcher's view (busy, idle, silent); doing to compile are the worker's own last report.
    out.printf("  %-60s %-6s %-7s %-10s %-7s %4s %7s %6s %8s %8s %8s%n", "device", "type", "state", "doing",
        "healthy", "warm", "compile", "leases", "verdicts", "had work", "silent");
    for (JsonNode w : workers) {
      double seen = w.path("seenSeconds").asDouble();
      JsonNode d = w.path("device");
      boolean reported = d.isObject();
      out.printf("  %-60s %-6s %-7s %-10s %-7s %4s %7s %6d %8d %7.0f%% %7.0fs%n", w.path("workerId").asText(),
          w.path("deviceType").asText(), w.path("state").asText(),
          reported ? d.path("state").asText() : "-", reported ? (d.path("healthy").asBoolean() ? "yes" : "NO") : "-",
          reported ? d.path("warmEvaluators").asText() : "-",
          reported ? d.path("compileSlotsBusy").asInt() + "/" + d.path("compileSlotsTotal").asInt() : "-",
          w.path("leases").asInt(), w.path("verdicts").asLong(),
          seen > 0 ? 100 * w.path("leasedSeconds").asDouble() / seen : 0, w.path("silentSeconds").asDouble());
    }
    out.flush();
    return 0;
  }
}
