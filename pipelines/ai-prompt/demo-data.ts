/**
 * Ten CSV rows in three conversations (chatId), interleaved as a spreadsheet would have them:
 * rows of one chat run in order with the earlier answers as history, the chats run side by side.
 */
import type { PromptRowInput } from './item';

export const demoPromptRows: PromptRowInput[] = [
  {
    row: 1,
    chatId: 'trip',
    question: 'I am planning three days in Lisbon in October. Which neighbourhoods should I stay in?',
  },
  { row: 2, chatId: 'pitch', question: 'Write a one-sentence pitch for a bike repair shop that comes to your office.' },
  { row: 3, chatId: 'sql', question: 'How do I find duplicate e-mail addresses in a PostgreSQL users table?' },
  { row: 4, chatId: 'trip', question: 'Which of those is best for someone without a car?' },
  { row: 5, chatId: 'pitch', question: 'Make it shorter and friendlier.' },
  { row: 6, chatId: 'sql', question: 'And how do I keep only the oldest row of each duplicate?' },
  {
    row: 7,
    chatId: 'trip',
    question: 'Suggest a day trip from there by train.',
    url: 'https://example.com/lisbon-trains',
  },
  { row: 8, chatId: 'pitch', question: 'Now translate it into Spanish.' },
  { row: 9, chatId: 'sql', question: 'Will that lock the table while it runs?' },
  { row: 10, question: 'What is the capital of Australia?' },
];
