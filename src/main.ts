import { mount } from 'svelte';
import App from './App.svelte';
import './ui/styles.css';
import { settings } from './ui/stores/settings.svelte';
import { registerServiceWorker } from './app/sw-register';

settings.apply();
const app = mount(App, { target: document.getElementById('app')! });
if (import.meta.env.PROD) registerServiceWorker(import.meta.env.BASE_URL);
export default app;
