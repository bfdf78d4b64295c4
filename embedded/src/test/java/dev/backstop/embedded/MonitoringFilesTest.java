package dev.backstop.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What compose's Prometheus and Grafana are given, checked here since no Docker engine runs them: the
 * dashboard is a Grafana dashboard whose queries use metrics docs/monitoring.md lists, and Prometheus
 * scrapes every Backstop service of docker-compose.yml on its port.
 */
class MonitoringFilesTest {

  private static final Path ROOT = Path.of("..");
  private static final Pattern METRIC = Pattern.compile("\\b((?:backstop|spring_cloud_stream)_[a-z_]+)");

  @Test
  void the_provisioned_dashboard_parses_and_queries_only_metrics_the_services_document() throws Exception {
    JsonNode dashboard = JsonMapper.builder().build().readTree(Files.readString(ROOT.resolve("docker/grafana/dashboards/backstop.json")));
    String documented = Files.readString(ROOT.resolve("docs/monitoring.md"));
    assertThat(dashboard.path("uid").asString()).isEqualTo("backstop-overview");
    List<String> used = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      assertThat(panel.path("targets").isEmpty()).as(panel.path("title").asString()).isFalse();
      for (JsonNode target : panel.path("targets")) {
        assertThat(target.path("datasource").path("uid").asString()).isEqualTo("prometheus");
        Matcher metric = METRIC.matcher(target.path("expr").asString());
        while (metric.find()) {
          used.add(metric.group(1).replaceAll("_(bucket|count|sum|max)$", ""));
        }
      }
    }
    assertThat(used).isNotEmpty().allSatisfy(name -> assertThat(documented).as(name).contains(name));
    Map<String, Object> datasources = new Yaml().load(Files.readString(ROOT.resolve("docker/grafana/provisioning/datasources/prometheus.yml")));
    assertThat(datasources.toString()).contains("uid=prometheus", "url=http://prometheus:9090");
  }

  @Test
  @SuppressWarnings("unchecked")
  void prometheus_scrapes_every_backstop_service_of_compose_on_its_port_and_compose_asks_each_its_readiness() throws Exception {
    Map<String, Object> compose = new Yaml().load(Files.readString(ROOT.resolve("docker-compose.yml")));
    Map<String, Object> prometheus = new Yaml().load(Files.readString(ROOT.resolve("docker/prometheus/prometheus.yml")));
    String scraped = prometheus.get("scrape_configs").toString();
    assertThat(scraped).contains("metrics_path=/actuator/prometheus");
    Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) compose.get("services");
    int backstop = 0;
    for (var service : services.entrySet()) {
      if (service.getValue().get("build") instanceof Map<?, ?> build && build.get("args") instanceof Map<?, ?> args) {
        assertThat(scraped).as(service.getKey()).contains(service.getKey() + ":" + args.get("PORT"));
        assertThat(service.getValue().get("healthcheck").toString()).as(service.getKey() + " is healthy when ready")
            .contains("http://localhost:" + args.get("PORT") + "/actuator/health/readiness");
        backstop++;
      }
    }
    assertThat(backstop).as("api-gateway, scheduler, dump-worker, retention, wal-archiver, notifier").isEqualTo(6);
    assertThat(services.get("prometheus").get("image").toString()).matches("prom/prometheus:v\\d+\\.\\d+\\.\\d+");
    assertThat(services.get("grafana").get("image").toString()).matches("grafana/grafana:\\d+\\.\\d+\\.\\d+");
  }
}
