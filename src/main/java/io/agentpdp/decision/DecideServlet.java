package io.agentpdp.decision;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PushbackInputStream;
import java.nio.charset.Charset;
import java.util.Collections;
import java.util.List;
import java.util.Set;

import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.http.server.ServletServerHttpRequest;
import org.springframework.util.InvalidMimeTypeException;
import org.springframework.util.StringUtils;
import org.springframework.validation.BeanPropertyBindingResult;
import org.springframework.validation.BindException;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.filter.ServerHttpObservationFilter;
import org.springframework.web.servlet.HandlerExceptionResolver;

import io.agentpdp.security.Caller;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.ObjectWriter;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /v1/decisions}, the hot path, on a servlet of its own instead of the DispatcherServlet: the MVC
 * dispatch (handler lookup, argument resolvers, converter negotiation, data binder) was about a seventh of
 * the PDP's CPU per DENY and decided nothing. Every servlet filter still applies as to any path (observation,
 * bearer authentication and scopes, request limits, the refusal audit). It checks what the MVC mapping checked,
 * in the same order (Content-Type, then Accept), reads and validates the body once, and raises the exceptions MVC
 * raises, which the API's one exception handler renders ({@code ProblemHandler}, through the MVC exception
 * resolver): every answer, errors included, is the one the annotated controller gave ({@code DecideEndpointTest}).
 */
final class DecideServlet extends HttpServlet {

    static final String PATH = "/v1/decisions";
    private static final List<MediaType> CONSUMES = List.of(MediaType.APPLICATION_JSON);
    /** Read as bytes (Jackson detects these itself), as the MVC converter does; any other charset through a reader. */
    private static final Set<String> DETECTED = Set.of("UTF-8", "UTF-16", "UTF-16BE", "UTF-16LE", "UTF-32BE", "UTF-32LE");

    private final transient DecisionService decisions;
    private final transient DecisionRequestValidator validator;
    private final transient HandlerExceptionResolver exceptions;
    private final transient ObjectReader reader;
    private final transient ObjectWriter writer;

    DecideServlet(DecisionService decisions, DecisionRequestValidator validator, JsonMapper json,
                  HandlerExceptionResolver exceptions) {
        this.decisions = decisions;
        this.validator = validator;
        this.exceptions = exceptions;
        this.reader = json.readerFor(DecisionRequest.class);
        this.writer = json.writerFor(Decision.class);
    }

    @Configuration(proxyBeanMethods = false)
    static class Registration {

        /** Exact mapping: it wins over the DispatcherServlet's "/" for this one path, never for /v1/decisions/{id}. */
        @Bean
        ServletRegistrationBean<DecideServlet> decideServlet(DecisionService decisions, DecisionRequestValidator validator,
                                                             JsonMapper json,
                                                             @Qualifier("handlerExceptionResolver") HandlerExceptionResolver exceptions) {
            ServletRegistrationBean<DecideServlet> registration =
                    new ServletRegistrationBean<>(new DecideServlet(decisions, validator, json, exceptions), PATH);
            registration.setName("decide");
            // The operations it serves, for the contract test (OpenApiContractTest) as for a reader.
            registration.addInitParameter("operations", "POST");
            registration.setLoadOnStartup(1);
            return registration;
        }
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws ServletException, IOException {
        ServerHttpObservationFilter.findObservationContext(request).ifPresent(context -> context.setPathPattern(PATH));
        try {
            Decision decision = decide(request);
            response.setStatus(HttpServletResponse.SC_OK);
            response.setContentType(MediaType.APPLICATION_JSON_VALUE);
            writer.writeValue(response.getOutputStream(), decision);
        } catch (Exception e) {
            if (response.isCommitted() || exceptions.resolveException(request, response, null, e) == null) {
                // Unrendered (none is, the handler takes every Exception): Tomcat's error page, a problem too.
                if (e instanceof IOException io) {
                    throw io;
                }
                throw e instanceof ServletException servlet ? servlet : new ServletException(e);
            }
        }
    }

    private Decision decide(HttpServletRequest request) throws Exception {
        // The security chain lets only POST with the decide scope reach this path; anything else is a bug.
        if (!"POST".equals(request.getMethod())) {
            throw new HttpRequestMethodNotSupportedException(request.getMethod(), List.of("POST"));
        }
        MediaType contentType = contentType(request);
        acceptable(request);
        Caller caller = Caller.of(request);
        DecisionRequest body = read(request, contentType);
        BeanPropertyBindingResult errors = new BeanPropertyBindingResult(body, "decisionRequest");
        validator.validate(body, errors);
        if (errors.hasErrors()) {
            throw new BindException(errors);
        }
        return decisions.decide(caller, body);
    }

    /** The request's media type, which must be application/json (any parameters), as the MVC consumes condition. */
    private static MediaType contentType(HttpServletRequest request) throws HttpMediaTypeNotSupportedException {
        if (!StringUtils.hasLength(request.getContentType())) {
            throw new HttpMediaTypeNotSupportedException(null, CONSUMES, HttpMethod.POST);
        }
        MediaType type;
        try {
            type = MediaType.parseMediaType(request.getContentType());
        } catch (InvalidMediaTypeException e) {
            throw new HttpMediaTypeNotSupportedException(e.getMessage(), CONSUMES);
        }
        if (!MediaType.APPLICATION_JSON.includes(type)) {
            throw new HttpMediaTypeNotSupportedException(type, CONSUMES, HttpMethod.POST);
        }
        return type;
    }

    /** Some accepted media type must be compatible with application/json, as the MVC produces condition. */
    private static void acceptable(HttpServletRequest request) throws HttpMediaTypeNotAcceptableException {
        List<String> accept = Collections.list(request.getHeaders("Accept"));
        if (accept.isEmpty()) {
            return;
        }
        List<MediaType> accepted;
        try {
            accepted = MediaType.parseMediaTypes(accept);
        } catch (InvalidMediaTypeException | InvalidMimeTypeException e) {
            throw new HttpMediaTypeNotAcceptableException(CONSUMES);
        }
        if (accepted.isEmpty()) {
            return;
        }
        for (MediaType type : accepted) {
            if (MediaType.APPLICATION_JSON.isCompatibleWith(type)) {
                return;
            }
        }
        throw new HttpMediaTypeNotAcceptableException(CONSUMES);
    }

    /** The body, read once by the strict mapper; a missing body (or JSON null) is unreadable, as for a required @RequestBody. */
    private DecisionRequest read(HttpServletRequest request, MediaType contentType) {
        DecisionRequest body = null;
        try {
            PushbackInputStream in = new PushbackInputStream(request.getInputStream(), 1);
            int first = in.read();
            if (first >= 0) {
                in.unread(first);
                Charset charset = contentType.getCharset();
                body = charset == null || DETECTED.contains(charset.name()) ? reader.readValue((InputStream) in)
                        : reader.readValue(new InputStreamReader(in, charset));
            }
        } catch (JacksonException e) {
            throw new HttpMessageNotReadableException("JSON parse error: " + e.getOriginalMessage(), e,
                    new ServletServerHttpRequest(request));
        } catch (IOException e) {
            throw new HttpMessageNotReadableException("I/O error while reading input message", e,
                    new ServletServerHttpRequest(request));
        }
        if (body == null) {
            throw new HttpMessageNotReadableException("Required request body is missing", new ServletServerHttpRequest(request));
        }
        return body;
    }
}
