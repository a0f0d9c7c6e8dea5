package io.agentpdp.decision;

import org.springframework.stereotype.Component;
import org.springframework.validation.Errors;
import org.springframework.validation.SmartValidator;
import org.springframework.validation.beanvalidation.SpringValidatorAdapter;

/**
 * Validates a decision request once: a plain check of the constraints {@link DecisionRequest} declares, which
 * answers only "certainly valid"; anything else (invalid, or merely unusual, like non-ASCII white space in an
 * intent) goes to Bean Validation, which states every violation as before. Bean Validation walked the
 * annotated records on every decision (about a sixteenth of the PDP's CPU per DENY); the plain check is a
 * loop over characters. It never accepts what Bean Validation rejects ({@code DecisionRequestValidatorTest}).
 */
@Component
class DecisionRequestValidator implements SmartValidator {

    private final SpringValidatorAdapter full;

    DecisionRequestValidator(jakarta.validation.Validator beanValidation) {
        this.full = new SpringValidatorAdapter(beanValidation);
    }

    @Override
    public boolean supports(Class<?> type) {
        return full.supports(type);
    }

    @Override
    public void validate(Object target, Errors errors) {
        if (!(target instanceof DecisionRequest request && plainlyValid(request))) {
            full.validate(target, errors);
        }
    }

    @Override
    public void validate(Object target, Errors errors, Object... hints) {
        if (hints.length > 0 || !(target instanceof DecisionRequest request && plainlyValid(request))) {
            full.validate(target, errors, hints);
        }
    }

    /** True only if every constraint of {@link DecisionRequest} certainly holds. */
    static boolean plainlyValid(DecisionRequest r) {
        if (!identifier(r.tenant(), 128, true) || r.agent() == null || r.task() == null || r.target() == null
                || !identifier(r.tool(), 200, true) || r.action() == null || r.dataClassification() == null
                || (r.idempotencyKey() != null && !identifier(r.idempotencyKey(), 128, true))
                || (r.heldCredential() != null && r.heldCredential().decisionId() == null)) {
            return false;
        }
        DecisionRequest.Agent agent = r.agent();
        if (!identifier(agent.id(), 128, false)
                || (agent.workloadIdentityToken() != null && agent.workloadIdentityToken().length() > 8192)) {
            return false;
        }
        DecisionRequest.Task task = r.task();
        Integer depth = task.chainDepth();
        return identifier(task.id(), 128, true) && text(task.intent(), 1024)
                && (depth == null || (depth >= 0 && depth <= 1000))
                && text(r.target().system(), 128) && text(r.target().resource(), 512);
    }

    /**
     * {@code ^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,max-1}$} ({@link DecisionRequest#IDENTIFIER}, {@link DecisionRequest#TOOL});
     * without {@code /} and {@code @}: {@link io.agentpdp.registry.Registry#AGENT_ID}.
     */
    private static boolean identifier(String value, int max, boolean slashAndAt) {
        if (value == null || value.isEmpty() || value.length() > max || !alphanumeric(value.charAt(0))) {
            return false;
        }
        for (int i = 1; i < value.length(); i++) {
            char c = value.charAt(i);
            if (!(alphanumeric(c) || c == '.' || c == '_' || c == ':' || c == '-' || (slashAndAt && (c == '/' || c == '@')))) {
                return false;
            }
        }
        return true;
    }

    /** Not blank, at most {@code max} chars, no control characters; certainly so: printable ASCII and more only. */
    private static boolean text(String value, int max) {
        if (value == null || value.length() > max) {
            return false;
        }
        boolean visible = false;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || Character.isWhitespace(c) && c != ' ' || Character.isSpaceChar(c) && c != ' ') {
                return false;
            }
            visible |= c != ' ';
        }
        return visible;
    }

    private static boolean alphanumeric(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }
}
