package kernelfarm.coordinator.campaign;

import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * The campaign loop and restart tests on PostgreSQL, the cluster store. run-tests starts a server and sets
 * KFARM_TEST_PG_URL (deploy/local/postgres.sh); CI always has one.
 */
@Tag("slow")
@EnabledIfEnvironmentVariable(named = "KFARM_TEST_PG_URL", matches = "jdbc:postgresql:.+")
class PostgresCampaignLoopTest extends CampaignLoopTest {
  @Override
  Map<String, String> store() {
    return Map.of("kernelfarm.store.url", System.getenv("KFARM_TEST_PG_URL"), "kernelfarm.store.user", "kfarm",
        "kernelfarm.store.password", "kfarm");
  }
}
