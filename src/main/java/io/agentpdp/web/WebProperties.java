package io.agentpdp.web;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Limits applied to every request before any feature sees it.
 *
 * @param maxBodySize     largest accepted request body (default 64KB); larger bodies get 413
 * @param maxJsonDepth    deepest accepted JSON nesting (default 16); deeper documents get 400
 * @param maxStringLength longest accepted JSON string value (default 16384 characters)
 */
@ConfigurationProperties("pdp.web")
record WebProperties(@DefaultValue("64KB") DataSize maxBodySize,
                     @DefaultValue("16") int maxJsonDepth,
                     @DefaultValue("16384") int maxStringLength) {
}
