import { flue, registerProvider } from '@flue/sdk/app';

// Any OpenAI-compatible server (Ollama, vLLM, LM Studio, a gateway) can answer for the agents: set
// MODEL_BASE_URL to its /v1 URL and MODEL to "local/<model id>". Without it, MODEL names a model of
// a hosted provider (default anthropic/claude-sonnet-4-6, with ANTHROPIC_API_KEY set).
if (process.env.MODEL_BASE_URL) {
	registerProvider('local', { api: 'openai-completions', baseUrl: process.env.MODEL_BASE_URL, apiKey: process.env.MODEL_API_KEY ?? 'none' });
}

export default flue();
