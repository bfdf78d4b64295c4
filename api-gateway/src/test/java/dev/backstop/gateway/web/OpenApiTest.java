package dev.backstop.gateway.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.springframework.context.annotation.ClassPathScanningCandidateComponentProvider;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.type.filter.AnnotationTypeFilter;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.yaml.snakeyaml.Yaml;

/** The published OpenAPI description names exactly the operations the controllers serve. */
class OpenApiTest {

  @Test
  void every_endpoint_is_described_and_every_description_has_an_endpoint() throws Exception {
    Set<String> served = new TreeSet<>();
    var scanner = new ClassPathScanningCandidateComponentProvider(false);
    scanner.addIncludeFilter(new AnnotationTypeFilter(RestController.class));
    for (var candidate : scanner.findCandidateComponents("dev.backstop.gateway")) {
      Class<?> type = Class.forName(candidate.getBeanClassName());
      RequestMapping base = AnnotatedElementUtils.findMergedAnnotation(type, RequestMapping.class);
      String prefix = base == null || base.path().length == 0 ? "" : base.path()[0];
      for (Method method : type.getDeclaredMethods()) {
        RequestMapping mapping = AnnotatedElementUtils.findMergedAnnotation(method, RequestMapping.class);
        if (mapping != null) {
          String path = prefix + (mapping.path().length == 0 ? "" : mapping.path()[0]);
          served.add(mapping.method()[0].name().toLowerCase() + " " + path);
        }
      }
    }

    Set<String> described = new TreeSet<>();
    try (InputStream in = getClass().getResourceAsStream("/static/v1/openapi.yaml")) {
      Map<String, Object> spec = new Yaml().load(in);
      @SuppressWarnings("unchecked")
      Map<String, Map<String, Object>> paths = (Map<String, Map<String, Object>>) spec.get("paths");
      paths.forEach((path, operations) -> operations.keySet().stream()
          .filter(k -> Set.of("get", "put", "post", "delete", "patch").contains(k))
          .forEach(k -> described.add(k + " " + path)));
    }
    assertThat(served).hasSizeGreaterThanOrEqualTo(15);
    assertThat(described).isEqualTo(served);
  }
}
