// SmolVLM (Idefics3): a small chat model for questions, captions and OCR over several images; it writes no boxes.
import { chatFamily } from './chat';

export const idefics3 = chatFamily({ family: 'idefics3', modelTypes: { idefics3: 'none', smolvlm: 'none' } });
